#include "setup/dest_preparer.hpp"

#include <pqxx/pqxx>

#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"

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

}  // namespace

void prepare_destination(pqxx::connection& dest, const std::vector<TableInfo>& tables,
                         const std::vector<EnumType>& enums,
                         const std::vector<CompositeType>& composites) {
    pqxx::work tx(dest, "prepare destination");
    pq::exec0(tx, sql::dest_bookkeeping);
    create_enums(tx, enums);
    create_composites(tx, composites);
    const bool grant = pq::exec1(tx, kConsumerRoleExists)[0].as<bool>();
    for (const auto& table : tables) {
        pq::exec0(tx, "CREATE SCHEMA IF NOT EXISTS " + quote_ident(table.name.schema));
        const std::optional<TableInfo> existing = load_table(tx, table.name);
        if (existing) {
            bring_up_to_date(tx, table, *existing);
        } else {
            pq::exec0(tx, create_table_sql(table));
            log::info("destination ", table.name.display(), ": created");
        }
        if (grant) {
            pq::exec0(tx, "GRANT USAGE ON SCHEMA " + quote_ident(table.name.schema) +
                              " TO pgtrail_consumer");
            pq::exec0(tx, "GRANT SELECT, INSERT, UPDATE, DELETE ON " + table.name.quoted() +
                              " TO pgtrail_consumer");
        }
    }
    tx.commit();
}

}  // namespace pgtrail
