#include "setup/enum_types.hpp"

#include <algorithm>
#include <set>

#include "common/log.hpp"
#include "common/pg_arrays.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

constexpr const char* kEnumsOfTable = R"sql(
SELECT DISTINCT n.nspname, e.typname,
       ARRAY(SELECT enumlabel::text FROM pg_enum WHERE enumtypid = e.oid ORDER BY enumsortorder)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type e ON e.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
JOIN pg_namespace n ON n.oid = e.typnamespace
WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass
  AND a.attnum > 0 AND NOT a.attisdropped AND e.typtype = 'e'
)sql";

constexpr const char* kExistingLabels = R"sql(
SELECT ARRAY(SELECT enumlabel::text FROM pg_enum
             WHERE enumtypid = to_regtype(quote_ident($1) || '.' || quote_ident($2))
             ORDER BY enumsortorder),
       to_regtype(quote_ident($1) || '.' || quote_ident($2)) IS NOT NULL
)sql";

// DDL takes no parameters, so labels become literals escaped by libpqxx. (Not tx.quote():
// GCC 12 at -O3 reports a false -Werror=restrict inside it.)
std::string literal(pqxx::transaction_base& tx, const std::string& text) {
    return std::string("'").append(tx.esc(text)).append("'");
}

std::string label_list(pqxx::transaction_base& tx, const std::vector<std::string>& labels) {
    std::string list;
    for (const auto& label : labels) {
        if (!list.empty()) list += ", ";
        list += literal(tx, label);
    }
    return list;
}

}  // namespace

std::vector<EnumType> enums_used_by(pqxx::transaction_base& source,
                                    const std::vector<TableInfo>& tables) {
    std::vector<EnumType> enums;
    std::set<TableName> seen;
    for (const auto& table : tables) {
        for (const auto& row :
             pq::exec(source, kEnumsOfTable, table.name.schema, table.name.name)) {
            TableName name{row[0].as<std::string>(), row[1].as<std::string>()};
            if (seen.insert(name).second) enums.push_back({name, parse_text_array(row[2])});
        }
    }
    return enums;
}

void create_enums(pqxx::transaction_base& dest, const std::vector<EnumType>& enums) {
    for (const auto& type : enums) {
        const pqxx::row existing =
            pq::exec1(dest, kExistingLabels, type.name.schema, type.name.name);
        if (!existing[1].as<bool>()) {
            pq::exec0(dest, "CREATE SCHEMA IF NOT EXISTS " + quote_ident(type.name.schema));
            pq::exec0(dest, "CREATE TYPE " + type.name.quoted() + " AS ENUM (" +
                                label_list(dest, type.labels) + ")");
            log::info("destination enum ", type.name.display(), ": created");
            continue;
        }
        const std::vector<std::string> have = parse_text_array(existing[0]);
        for (const auto& label : type.labels) {
            if (std::find(have.begin(), have.end(), label) != have.end()) continue;
            pq::exec0(dest, "ALTER TYPE " + type.name.quoted() + " ADD VALUE IF NOT EXISTS " +
                                literal(dest, label));
            log::info("destination enum ", type.name.display(), ": added label ", label);
        }
    }
}

}  // namespace pgtrail
