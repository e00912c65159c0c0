#include "common/table_catalog.hpp"

#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

constexpr const char* kResolveTable = R"sql(
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')
)sql";

constexpr const char* kTableColumns = R"sql(
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a
WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass
  AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attname NOT IN ('_cdc_ts', '_cdc_seq')
ORDER BY a.attnum
)sql";

constexpr const char* kPrimaryKeyColumns = R"sql(
SELECT a.attname
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND i.indisprimary
ORDER BY k.position
)sql";

constexpr const char* kTableExists = R"sql(
SELECT to_regclass(quote_ident($1) || '.' || quote_ident($2)) IS NOT NULL
)sql";

}  // namespace

std::string TableName::quoted() const { return quote_qualified(schema, name); }

std::string TableName::display() const { return schema + "." + name; }

std::optional<TableName> resolve_table(pqxx::transaction_base& tx, const std::string& text) {
    const pqxx::result rows = pq::exec(tx, kResolveTable, text);
    if (rows.empty()) return std::nullopt;
    return TableName{rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
}

std::optional<TableInfo> load_table(pqxx::transaction_base& tx, const TableName& name) {
    if (!pq::exec1(tx, kTableExists, name.schema, name.name)[0].as<bool>()) return std::nullopt;
    TableInfo info{name, {}, {}};
    for (const auto& row : pq::exec(tx, kTableColumns, name.schema, name.name))
        info.columns.push_back(
            {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<bool>()});
    for (const auto& row : pq::exec(tx, kPrimaryKeyColumns, name.schema, name.name))
        info.pk_columns.push_back(row[0].as<std::string>());
    return info;
}

}  // namespace pgtrail
