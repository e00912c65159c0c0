#include "harness/sql.hpp"

#include <pqxx/pqxx>
#include <stdexcept>

#include "common/pqxx_compat.hpp"

namespace pgtrail::it {

void exec(const std::string& url, const std::string& sql) {
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    tx.exec(sql);
    tx.commit();
}

std::string query_value(const std::string& url, const std::string& sql) {
    pqxx::connection conn(url);
    pqxx::read_transaction tx(conn);
    const auto row = pq::exec1(tx, sql);
    if (row.size() != 1) throw std::logic_error("expected one column from: " + sql);
    if (row[0].is_null()) throw std::logic_error("NULL from: " + sql);
    return row[0].c_str();
}

std::vector<std::string> query_column(const std::string& url, const std::string& sql) {
    pqxx::connection conn(url);
    pqxx::read_transaction tx(conn);
    std::vector<std::string> out;
    for (const auto& row : tx.exec(sql)) {
        out.emplace_back(row[0].is_null() ? "NULL" : row[0].c_str());
    }
    return out;
}

std::vector<std::string> user_rows(const std::string& url, const std::string& table) {
    return query_column(
        url, "SELECT (to_jsonb(t) - '_cdc_ts' - '_cdc_seq')::text FROM " + table + " t ORDER BY 1");
}

std::vector<std::string> stored_rows(const std::string& url, const std::string& table) {
    return query_column(url, "SELECT row_to_json(t)::text FROM " + table + " t ORDER BY 1");
}

std::string lines(const std::vector<std::string>& rows) {
    std::string out;
    for (const auto& r : rows) out += r + "\n";
    return out.empty() ? "(no rows)\n" : out;
}

std::string error_of(const std::string& url, const std::string& sql) {
    try {
        exec(url, sql);
    } catch (const pqxx::sql_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace pgtrail::it
