#include "setup/dest_preparer.hpp"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>

#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pqxx_compat.hpp"
#include "common/source_row.hpp"
#include "common/sql_names.hpp"
#include "common/table_mapping.hpp"

namespace pgtrail::sql {
extern const char* const dest_bookkeeping;
}

namespace pgtrail {
namespace {

std::string column_definition(const Column& column) {
    return quote_ident(column.name) + " " + column.type + (column.not_null ? " NOT NULL" : "");
}

std::string create_table_sql(const TableInfo& table) {
    std::string sql = "CREATE TABLE " + table.name.quoted() + " (\n";
    for (const auto& column : table.columns) sql += "    " + column_definition(column) + ",\n";
    sql += "    " + quote_ident(kGuardTsColumn) + " timestamptz,\n";
    sql += "    " + quote_ident(kGuardSeqColumn) + " bigint,\n    PRIMARY KEY (";
    for (std::size_t i = 0; i < table.pk_columns.size(); ++i)
        sql += (i ? ", " : "") + quote_ident(table.pk_columns[i]);
    return sql + "))";
}

constexpr const char* kConsumerRoleExists =
    "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgtrail_consumer')";

constexpr const char* kHasGuardColumns = R"sql(
SELECT count(*) = 2 FROM pg_attribute
WHERE attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass
  AND attname IN ('_cdc_ts', '_cdc_seq') AND NOT attisdropped
)sql";

// An existing table gains the columns it lacks; nothing is dropped.
void bring_up_to_date(pqxx::transaction_base& tx, const TableInfo& source,
                      const TableInfo& existing) {
    if (existing.pk_columns != source.pk_columns)
        throw UsageError("destination table " + source.name.display() +
                         " has a different primary key than the source's; fix or drop it");
    for (const auto& column : source.columns) {
        bool present = false;
        for (const auto& have : existing.columns) present = present || have.name == column.name;
        if (present) continue;
        // Added nullable: rows already replicated have no value for it yet.
        pq::exec0(tx, "ALTER TABLE " + source.name.quoted() + " ADD COLUMN " +
                          quote_ident(column.name) + " " + column.type);
        log::info("destination ", source.name.display(), ": added column ", column.name);
    }
    if (!pq::exec1(tx, kHasGuardColumns, source.name.schema, source.name.name)[0].as<bool>()) {
        pq::exec0(tx, "ALTER TABLE " + source.name.quoted() + " ADD COLUMN IF NOT EXISTS " +
                          quote_ident(kGuardTsColumn) + " timestamptz, ADD COLUMN IF NOT EXISTS " +
                          quote_ident(kGuardSeqColumn) + " bigint");
        log::info("destination ", source.name.display(), ": added guard columns");
    }
}

void prepare_table(pqxx::transaction_base& tx, const TableInfo& table, bool grant) {
    pq::exec0(tx, "CREATE SCHEMA IF NOT EXISTS " + quote_ident(table.name.schema));
    const std::optional<TableInfo> existing = load_table(tx, table.name);
    if (existing) {
        bring_up_to_date(tx, table, *existing);
    } else {
        pq::exec0(tx, create_table_sql(table));
        log::info("destination ", table.name.display(), ": created");
    }
    if (grant) {
        pq::exec0(
            tx, "GRANT USAGE ON SCHEMA " + quote_ident(table.name.schema) + " TO pgtrail_consumer");
        pq::exec0(tx, "GRANT SELECT, INSERT, UPDATE, DELETE ON " + table.name.quoted() +
                          " TO pgtrail_consumer");
    }
}

// PostgreSQL truncates longer identifiers, and two types could then share a name.
constexpr std::size_t kMaxIdentifierBytes = 63;

constexpr const char* kTypeAttributes = R"sql(
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass
  AND a.attnum > 0 AND NOT a.attisdropped
)sql";

// Creates or extends the source row type: columns the source gained are added, a column
// whose type changed is retyped. A column the source dropped stays, as on a mirrored table.
void record_source_row(pqxx::transaction_base& tx, const TableInfo& source) {
    const TableName type = source_row_type(source.name);
    if (type.name.size() > kMaxIdentifierBytes)
        throw UsageError("table " + source.name.display() + ": schema and name together exceed " +
                         std::to_string(kMaxIdentifierBytes) +
                         " bytes, too long for its source row type " + type.display());
    if (!load_table(tx, type)) {
        std::string attributes;
        for (const auto& column : source.columns)
            attributes +=
                (attributes.empty() ? "" : ", ") + quote_ident(column.name) + " " + column.type;
        pq::exec0(tx, "CREATE TYPE " + type.quoted() + " AS (" + attributes + ")");
        return;
    }
    std::map<std::string, std::string> recorded;
    for (const auto& row : pq::exec(tx, kTypeAttributes, type.schema, type.name))
        recorded[row[0].as<std::string>()] = row[1].as<std::string>();
    for (const auto& column : source.columns) {
        const auto found = recorded.find(column.name);
        if (found == recorded.end())
            pq::exec0(tx, "ALTER TYPE " + type.quoted() + " ADD ATTRIBUTE " +
                              quote_ident(column.name) + " " + column.type);
        else if (found->second != column.type)
            pq::exec0(tx, "ALTER TYPE " + type.quoted() + " ALTER ATTRIBUTE " +
                              quote_ident(column.name) + " TYPE " + column.type);
    }
}

constexpr const char* kTempSchema =
    "SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()";

// The destination table a mapping fills: its columns typed as PostgreSQL types the
// expressions over a source row (CREATE TABLE AS keeps a copied column's type and typmod),
// NOT NULL where the source column copied is, the source's key, and a soft-delete table's
// deleted column or a history table's op and transaction columns and longer key.
TableInfo mapped_table(pqxx::transaction_base& tx, const TableMapping& mapping,
                       const TableInfo& source) {
    std::string values;
    for (const auto& column : mapping.columns)
        values +=
            (values.empty() ? "" : ", ") + value_sql(column) + " AS " + quote_ident(column.name);
    pq::exec0(tx, "CREATE TEMP TABLE pgtrail_mapped AS SELECT " + values + " FROM (SELECT " +
                      typed_null_row_sql(source) + ") src WITH NO DATA");
    const TableName temp{pq::exec1(tx, kTempSchema)[0].as<std::string>(), "pgtrail_mapped"};
    TableInfo table = *load_table(tx, temp);
    pq::exec0(tx, "DROP TABLE pg_temp.pgtrail_mapped");
    table.name = mapping.dest;
    table.pk_columns = source.pk_columns;
    if (mapping.mode == SinkMode::soft_delete)
        table.columns.push_back({mapping.deleted_column, "timestamp with time zone", false});
    if (mapping.mode == SinkMode::history) {
        table.columns.push_back({kHistoryOpColumn, "text", true});
        table.columns.push_back({kHistoryTxidColumn, "bigint", false});
        table.pk_columns.push_back(kGuardSeqColumn);
    }
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        if (!mapping.columns[i].copied) continue;
        for (const auto& column : source.columns)
            if (column.name == mapping.columns[i].name) table.columns[i].not_null = column.not_null;
    }
    return table;
}

}  // namespace

void prepare_destination(pqxx::connection& dest, const std::vector<TableInfo>& tables,
                         const std::vector<EnumType>& enums,
                         const std::vector<CompositeType>& composites) {
    pqxx::work tx(dest, "prepare destination");
    pq::exec0(tx, sql::dest_bookkeeping);
    create_enums(tx, enums);
    create_composites(tx, composites);
    const bool grant = pq::exec1(tx, kConsumerRoleExists)[0].as<bool>();
    for (const auto& table : tables) prepare_table(tx, table, grant);
    tx.commit();
}

void prepare_ruled_destination(pqxx::connection& dest, const Rules& rules,
                               const std::vector<TableInfo>& sources,
                               const std::vector<EnumType>& enums,
                               const std::vector<CompositeType>& composites) {
    pqxx::work tx(dest, "prepare destination under rules");
    pq::exec0(tx, sql::dest_bookkeeping);
    create_enums(tx, enums);
    create_composites(tx, composites);
    const bool grant = pq::exec1(tx, kConsumerRoleExists)[0].as<bool>();
    for (const auto& rule : rules.tables)
        if (std::none_of(sources.begin(), sources.end(),
                         [&](const TableInfo& s) { return s.name == rule.source; }))
            throw UsageError(rule.context + ": the source table is not captured");
    pq::exec0(tx, std::string("CREATE SCHEMA IF NOT EXISTS ") + quote_ident(kSourceRowSchema));
    for (const auto& source : sources) {
        const auto ruled = rules.for_source(source.name);
        if (ruled.empty()) continue;
        record_source_row(tx, source);
        for (const TableRule* rule : ruled) {
            const TableMapping mapping = resolve_rule(*rule, source);
            check_expressions(tx, mapping, source);
            prepare_table(tx, mapped_table(tx, mapping, source), grant);
        }
    }
    if (grant)
        pq::exec0(tx, std::string("GRANT USAGE ON SCHEMA ") + quote_ident(kSourceRowSchema) +
                          " TO pgtrail_consumer");
    tx.commit();
}

}  // namespace pgtrail
