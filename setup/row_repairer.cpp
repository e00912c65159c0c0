#include "setup/row_repairer.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/pg_arrays.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"
#include "setup/json_nulls.hpp"

namespace pgtrail {
namespace {

// Keys per statement, so one JSON parameter stays a few hundred kilobytes.
constexpr std::size_t kKeysPerStatement = 5000;

constexpr const char* kRelid =
    "SELECT relid FROM cdc.captured_tables WHERE schema_name = $1 AND table_name = $2";

struct RepairStatements {
    std::string rows;
    std::string deletes;
};

// $1 the table's oid, $2 a JSON array of key objects, expanded into the table's row type so
// PostgreSQL converts each key value to its column's type; rows: $3 its json columns.
RepairStatements repair_statements(const TableInfo& table) {
    std::string t_keys, k_keys;
    for (const auto& pk : table.pk_columns) {
        t_keys += (t_keys.empty() ? "t." : ", t.") + quote_ident(pk);
        k_keys += (k_keys.empty() ? "k." : ", k.") + quote_ident(pk);
    }
    const std::string target = table.name.quoted();
    const std::string given = "SELECT " + k_keys +
                              " FROM pg_catalog.json_populate_recordset(NULL::" + target +
                              ", $2::json) k";
    const std::string rows =
        "INSERT INTO cdc.log (relid, op, after, after_json_nulls) SELECT $1, 'r', "
        "pg_catalog.row_to_json(t.*), " +
        json_nulls_sql(table, "t", 3) + " FROM " + target + " t WHERE (" + t_keys + ") IN (" +
        given + ")";
    return {rows,
            "INSERT INTO cdc.log (relid, op, before) SELECT $1, 'd', pg_catalog.row_to_json(k.*) "
            "FROM (" +
                given + ") k WHERE NOT EXISTS (SELECT FROM " + target + " t WHERE (" + t_keys +
                ") = (" + k_keys + "))"};
}

std::string json_array(std::vector<std::string>::const_iterator begin,
                       std::vector<std::string>::const_iterator end) {
    std::string array = "[";
    for (auto key = begin; key != end; ++key) array += (key == begin ? "" : ",") + *key;
    return array + "]";
}

}  // namespace

RepairCounts enqueue_repairs(pqxx::connection& source, const TableInfo& table,
                             const std::vector<std::string>& keys) {
    pqxx::work tx(source, "repair");
    const pqxx::result relid = pq::exec(tx, kRelid, table.name.schema, table.name.name);
    if (relid.empty())
        throw UsageError("table " + table.name.display() +
                         " is not captured, so --repair cannot heal it: run db_setup --table " +
                         table.name.display() + " first");
    // SHARE waits for in-flight writers and holds new ones off until this commits: which
    // keys exist is read under the lock, and every later write logs a later timestamp.
    pq::exec0(tx, "LOCK TABLE " + table.name.quoted() + " IN SHARE MODE");
    const RepairStatements statements = repair_statements(table);
    RepairCounts counts;
    for (std::size_t at = 0; at < keys.size(); at += kKeysPerStatement) {
        const auto begin = keys.begin() + static_cast<std::ptrdiff_t>(at);
        const auto end = keys.begin() +
                         static_cast<std::ptrdiff_t>(std::min(keys.size(), at + kKeysPerStatement));
        const std::string batch = json_array(begin, end);
        counts.rows += pq::exec0(tx, statements.rows, relid[0][0].as<std::uint32_t>(), batch,
                                 text_array_literal(json_columns(table)))
                           .affected_rows();
        counts.deletes += pq::exec0(tx, statements.deletes, relid[0][0].as<std::uint32_t>(), batch)
                              .affected_rows();
    }
    tx.commit();
    return counts;
}

}  // namespace pgtrail
