#include "harness/items_table.hpp"

#include "harness/sql.hpp"

namespace pgtrail::it {

BackgroundWriter::Round steady_changes() {
    return [](pqxx::work& tx, std::int64_t n) {
        tx.exec("INSERT INTO items VALUES (" + std::to_string(n + 1) + ", 0, 'round " +
                std::to_string(n) + "')");
        tx.exec("UPDATE items SET v = v + 1 WHERE id = " + std::to_string(n / 2 + 1));
        return true;
    };
}

std::int64_t rows_on(const std::string& url) {
    return std::stoll(query_value(url, "SELECT count(*) FROM items"));
}

}  // namespace pgtrail::it
