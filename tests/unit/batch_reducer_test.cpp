#include "consumer/batch_reducer.hpp"

#include <doctest/doctest.h>

using namespace pgtrail;

namespace {
Change change(std::string table, std::string key, char op, std::int64_t ts, std::int64_t seq) {
    Change c;
    c.table = {"public", std::move(table)};
    c.key = std::move(key);
    c.op = op;
    c.ts_us = ts;
    c.seq = seq;
    return c;
}
}  // namespace

TEST_CASE("reduction keeps the newest change per table and key") {
    const auto reduced = reduce_batch({
        change("a", "{\"id\":1}", 'c', 10, 1), change("a", "{\"id\":1}", 'u', 20, 2),
        change("a", "{\"id\":2}", 'c', 10, 3), change("b", "{\"id\":1}", 'c', 5, 4),
        change("a", "{\"id\":1}", 'd', 30, 5),
        change("a", "{\"id\":2}", 'u', 10, 2),  // older seq at the same timestamp: loses
    });
    REQUIRE(reduced.size() == 3);
    CHECK(reduced[0].table.name == "a");
    CHECK(reduced[0].key == "{\"id\":1}");
    CHECK(reduced[0].op == 'd');
    CHECK(reduced[1].key == "{\"id\":2}");
    CHECK(reduced[1].op == 'c');
    CHECK(reduced[2].table.name == "b");
}

TEST_CASE("a redelivered older change never replaces a newer one in a batch") {
    const auto reduced = reduce_batch({
        change("a", "k", 'u', 20, 2),
        change("a", "k", 'c', 10, 1),
    });
    REQUIRE(reduced.size() == 1);
    CHECK(reduced[0].seq == 2);
}

TEST_CASE("a history table's changes are all kept, the others still reduced") {
    const auto reduced = reduce_batch({change("h", "k", 'c', 10, 1), change("a", "k", 'c', 10, 2),
                                       change("h", "k", 'u', 20, 3), change("a", "k", 'u', 20, 4)},
                                      [](const TableName& table) { return table.name == "h"; });
    REQUIRE(reduced.size() == 3);
    CHECK(reduced[0].seq == 1);
    CHECK(reduced[1].seq == 3);
    CHECK(reduced[2].seq == 4);
}
