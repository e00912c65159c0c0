#include "setup/composite_types.hpp"

#include <set>

#include "common/log.hpp"
#include "common/pg_arrays.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

// Every stand-alone composite reachable from the table's columns, through arrays and other
// composites' attributes, with its attributes. A composite cannot contain itself, so the walk
// ends; depth orders the types so that each one comes after those it contains. A table's own
// row type used as a column is not stand-alone (relkind 'r') and is left out.
constexpr const char* kCompositesOfTable = R"sql(
WITH RECURSIVE used (typid, depth) AS (
    SELECT CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END, 0
    FROM pg_attribute a
    JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass
      AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END, u.depth + 1
    FROM used u
    JOIN pg_type c ON c.oid = u.typid AND c.typtype = 'c'
    JOIN pg_attribute a ON a.attrelid = c.typrelid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
)
SELECT n.nspname, c.typname,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.typrelid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum),
       ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = c.typrelid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum)
FROM (SELECT typid, max(depth) AS depth FROM used GROUP BY typid) u
JOIN pg_type c ON c.oid = u.typid AND c.typtype = 'c'
JOIN pg_class r ON r.oid = c.typrelid AND r.relkind = 'c'
JOIN pg_namespace n ON n.oid = c.typnamespace
ORDER BY u.depth DESC, n.nspname, c.typname
)sql";

constexpr const char* kTypeExists =
    "SELECT to_regtype(quote_ident($1) || '.' || quote_ident($2)) IS NOT NULL";

std::string create_type_sql(const CompositeType& type) {
    std::string sql = "CREATE TYPE " + type.name.quoted() + " AS (";
    for (std::size_t i = 0; i < type.attributes.size(); ++i)
        sql +=
            (i ? ", " : "") + quote_ident(type.attributes[i].name) + " " + type.attributes[i].type;
    return sql + ")";
}

}  // namespace

std::vector<CompositeType> composites_used_by(pqxx::transaction_base& source,
                                              const std::vector<TableInfo>& tables) {
    // Per table, contained types come first; a type another table already brought along is
    // already placed before everything that contains it.
    std::vector<CompositeType> types;
    std::set<TableName> seen;
    for (const auto& table : tables) {
        for (const auto& row :
             pq::exec(source, kCompositesOfTable, table.name.schema, table.name.name)) {
            TableName name{row[0].as<std::string>(), row[1].as<std::string>()};
            if (!seen.insert(name).second) continue;
            const std::vector<std::string> names = parse_text_array(row[2]);
            const std::vector<std::string> kinds = parse_text_array(row[3]);
            CompositeType type{name, {}};
            for (std::size_t i = 0; i < names.size() && i < kinds.size(); ++i)
                type.attributes.push_back({names[i], kinds[i], false});
            types.push_back(std::move(type));
        }
    }
    return types;
}

void create_composites(pqxx::transaction_base& dest, const std::vector<CompositeType>& types) {
    for (const auto& type : types) {
        if (pq::exec1(dest, kTypeExists, type.name.schema, type.name.name)[0].as<bool>()) continue;
        pq::exec0(dest, "CREATE SCHEMA IF NOT EXISTS " + quote_ident(type.name.schema));
        pq::exec0(dest, create_type_sql(type));
        log::info("destination composite type ", type.name.display(), ": created");
    }
}

}  // namespace pgtrail
