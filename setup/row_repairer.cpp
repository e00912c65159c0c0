#include "setup/row_repairer.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"
#include "setup/chunk_loader.hpp"

namespace pgtrail {
namespace {

// Keys per transaction, so one JSON literal stays a few hundred kilobytes and the consumer
// waits for the table only briefly.
constexpr std::size_t kKeysPerStatement = 5000;

std::string key_list(const TableInfo& table, const std::string& prefix) {
    std::string list;
    for (const auto& pk : table.pk_columns)
        list += (list.empty() ? "" : ", ") + prefix + quote_ident(pk);
    return "(" + list + ")";
}

// The given keys, a JSON array of key objects, expanded into the table's row type so
// PostgreSQL converts each key value to its column's type.
std::string given_keys(const TableInfo& table, const std::string& json_sql) {
    return "SELECT " + key_list(table, "k.") +
           " FROM pg_catalog.json_populate_recordset(NULL::" + table.name.quoted() + ", " +
           json_sql + "::pg_catalog.json) k";
}

std::string upsert_sql(const TableInfo& table) {
    std::string set;
    for (const auto& column : table.columns)
        set += quote_ident(column.name) + " = EXCLUDED." + quote_ident(column.name) + ", ";
    set += quote_ident(kGuardTsColumn) + " = NULL, " + quote_ident(kGuardSeqColumn) + " = NULL";
    return "INSERT INTO " + table.name.quoted() + " AS d (" + copied_columns(table) + ") SELECT " +
           copied_columns(table, "s.") + " FROM " + kStageTable + " s ON CONFLICT " +
           key_list(table, "") + " DO UPDATE SET " + set;
}

std::string remove_sql(const TableInfo& table) {
    return "DELETE FROM " + table.name.quoted() + " d WHERE " + key_list(table, "d.") + " IN (" +
           given_keys(table, "$1") + ") AND NOT EXISTS (SELECT 1 FROM " + kStageTable +
           " s WHERE " + key_list(table, "s.") + " = " + key_list(table, "d.") + ")";
}

std::string json_array(std::vector<std::string>::const_iterator begin,
                       std::vector<std::string>::const_iterator end) {
    std::string array = "[";
    for (auto key = begin; key != end; ++key) array += (key == begin ? "" : ",") + *key;
    return array + "]";
}

}  // namespace

RepairCounts repair_rows(pqxx::connection& source, pqxx::connection& dest, const TableInfo& table,
                         const std::vector<std::string>& keys) {
    RepairCounts counts;
    const std::string target = table.name.quoted();
    for (std::size_t at = 0; at < keys.size(); at += kKeysPerStatement) {
        const auto begin = keys.begin() + static_cast<std::ptrdiff_t>(at);
        const auto end = keys.begin() +
                         static_cast<std::ptrdiff_t>(std::min(keys.size(), at + kKeysPerStatement));
        const std::string batch = json_array(begin, end);
        pqxx::work dtx(dest, "repair");
        pq::exec0(dtx, "LOCK TABLE " + target + " IN SHARE ROW EXCLUSIVE MODE");
        pqxx::read_transaction stx(source, "repair");
        pq::exec0(dtx, create_stage_sql(table));
        // COPY takes no parameters: the keys go in as a quoted literal.
        const std::string query = "SELECT " + copied_columns(table, "t.") + " FROM " + target +
                                  " t WHERE " + key_list(table, "t.") + " IN (" +
                                  given_keys(table, stx.quote(batch)) + ")";
        pq::copy_rows(stx, query, dtx, kStageTable, copied_columns(table));
        stx.commit();
        counts.deletes += pq::exec0(dtx, remove_sql(table), batch).affected_rows();
        counts.rows += pq::exec0(dtx, upsert_sql(table)).affected_rows();
        dtx.commit();
    }
    return counts;
}

}  // namespace pgtrail
