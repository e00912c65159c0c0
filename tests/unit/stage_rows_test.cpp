#include "consumer/stage_rows.hpp"

#include <doctest/doctest.h>

using namespace pgtrail;

namespace {

const TableInfo kTable{{"public", "t"},
                       {{"id", "integer", true},
                        {"name", "text", false},
                        {"doc", "jsonb", false},
                        {"tags", "text[]", false},
                        {"price", "numeric", false}},
                       {"id"}};
const StageLayout kLayout{
    {StagedAs::scalar, StagedAs::scalar, StagedAs::json, StagedAs::structured, StagedAs::scalar}};

Change change(char op, std::string row, std::vector<int> json_nulls = {}) {
    Change c;
    c.table = kTable.name;
    c.op = op;
    c.ts_us = 1700000000000001;
    c.seq = 7;
    c.key = R"({"id":1})";
    c.row = std::move(row);
    c.json_null_columns = std::move(json_nulls);
    return c;
}

StageFields staged(const Change& c) {
    StageFields fields;
    stage_fields(c, kTable, kLayout, false, fields);
    return fields;
}

}  // namespace

TEST_CASE("a row is staged as its op, guard, key, typed values and one object of structured ones") {
    const StageFields fields = staged(change(
        'u',
        R"({"id":1,"name":"a\tb \"q\" \u00e9","doc":{"k":[1,2]},"tags":["x","y"],"price":12.50})"));
    REQUIRE(fields.size() == 5 + 4 + 1);
    CHECK(fields[0] == "u");
    CHECK(fields[1] == "1700000000000001");
    CHECK(fields[2] == "7");
    CHECK_FALSE(fields[3].has_value());  // no source transaction in this change
    CHECK(fields[4] == R"({"id":1})");
    CHECK(fields[5] == "1");
    CHECK(fields[6] == "a\tb \"q\" \xc3\xa9");  // the string's text, unescaped
    CHECK(fields[7] == R"({"k":[1,2]})");       // json as written
    CHECK(fields[8] == "12.50");                // a number exactly as written
    CHECK(fields[9] == R"({"tags":["x","y"]})");
}

TEST_CASE("SQL NULL and JSON null stay apart, and a missing member is NULL") {
    const StageFields sql_null =
        staged(change('c', R"({"id":1,"name":null,"doc":null,"tags":null})"));
    CHECK_FALSE(sql_null[6].has_value());
    CHECK_FALSE(sql_null[7].has_value());
    CHECK_FALSE(sql_null[8].has_value());  // price absent
    CHECK(sql_null[9] == R"({"tags":null})");

    const StageFields json_null = staged(change('c', R"({"id":1,"name":null,"doc":null})", {3}));
    CHECK(json_null[7] == "null");
    CHECK_FALSE(json_null[6].has_value());
    CHECK(json_null[9] == "{}");
}

TEST_CASE("a delete stages its key only") {
    const StageFields fields =
        staged(change('d', R"({"id":1,"name":"gone","doc":{},"tags":["x"],"price":1})"));
    CHECK(fields[0] == "d");
    CHECK(fields[5] == "1");
    CHECK_FALSE(fields[6].has_value());
    CHECK_FALSE(fields[7].has_value());
    CHECK_FALSE(fields[8].has_value());
    CHECK(fields[9] == "{}");
}

TEST_CASE("a value PostgreSQL text cannot hold is rejected with its table, key and column") {
    try {
        staged(change('c', R"({"id":1,"name":"a\u0000b"})"));
        FAIL("no rejection");
    } catch (const RejectedValue& e) {
        const std::string message = e.what();
        CHECK(message.find("public.t") != std::string::npos);
        CHECK(message.find(R"({"id":1})") != std::string::npos);
        CHECK(message.find("column name") != std::string::npos);
    }
    CHECK_THROWS_AS(staged(change('c', R"({"id":1,"name":)")), RejectedValue);
}

TEST_CASE("a history table stages a delete's whole before image and the source transaction") {
    Change c = change('d', R"({"id":1,"name":"gone","doc":{},"tags":["x"],"price":1})");
    c.txid = 4242;
    StageFields fields;
    stage_fields(c, kTable, kLayout, true, fields);
    CHECK(fields[3] == "4242");
    CHECK(fields[5] == "1");
    CHECK(fields[6] == "gone");
    CHECK(fields[8] == "1");
    CHECK(fields[9] == R"({"tags":["x"]})");
}
