#include "common/row_key.hpp"

#include <doctest/doctest.h>

#include "common/json_members.hpp"

using namespace pgtrail;

TEST_CASE("the key holds the primary-key columns in key order, values as written") {
    const std::string row =
        R"({"b":"x\"y","a":-0.000000000000000000001,"c":[1,{"d":null}],"e":true})";
    CHECK(encode_key(row, {"a", "b"}) == R"({"a":-0.000000000000000000001,"b":"x\"y"})");
    CHECK(encode_key(row, {"c"}) == R"({"c":[1,{"d":null}]})");
    CHECK(encode_key(R"({"emp_id":42,"first_name":"Alice"})", {"emp_id"}) == R"({"emp_id":42})");
}

TEST_CASE("key column names are escaped like any JSON string") {
    CHECK(encode_key(R"({"we\"ird Name":1})", {"we\"ird Name"}) == R"({"we\"ird Name":1})");
}

TEST_CASE("a row without a key column is an error") {
    CHECK_THROWS_AS(encode_key(R"({"a":1})", {"id"}), JsonError);
}

TEST_CASE("canonical keys ignore spacing but keep values exact") {
    CHECK(canonical_key(" { \"id\" :\n 1 , \"t\": \"a b\" } ") == R"({"id":1,"t":"a b"})");
}

TEST_CASE("split_object returns raw member values and validates the whole document") {
    const auto members = split_object(R"({"n": 1.10 , "s":"\u00e9", "o":{"x":[1, 2]}, "z":null})");
    REQUIRE(members.size() == 4);
    CHECK(members[0].raw_value == "1.10");
    CHECK(members[1].raw_value == R"("\u00e9")");
    CHECK(members[2].raw_value == R"({"x":[1, 2]})");
    CHECK(members[3].raw_value == "null");
    CHECK(decode_json_string(members[1].raw_value) == "\xc3\xa9");
    CHECK_THROWS_AS(split_object(R"({"a":1,})"), JsonError);
    CHECK_THROWS_AS(split_object(R"({"a":"\xff"})"), JsonError);
    CHECK_THROWS_AS(split_object("42"), JsonError);
}
