#include <doctest/doctest.h>

#include "consumer/envelope_decoder.hpp"
#include "producer/envelope_encoder.hpp"

using namespace pgtrail;

namespace {

const CapturedTable kAccounts{{"public", "accounts"}, {"id"}};
const TableInfo kAccountsInfo{
    {"public", "accounts"},
    {{"id", "bigint", true}, {"amount", "numeric", false}, {"doc", "json", false}},
    {"id"}};

// A row as row_to_json writes it: numbers and nested json are text we must not touch.
constexpr std::string_view kRow =
    R"({"id":9223372036854775807,"amount":1234567890123456789012345678.0123456789,)"
    R"("doc":{"n": 12345678901234567890.000000000000000001, "deep":[{"x":1e400}]}})";

LogRow insert_row(std::string_view after) {
    LogRow row;
    row.seq = 1043;
    row.txid = "771";
    row.ts_us = 1763700000120811;
    row.op = 'c';
    row.after = after;
    return row;
}

}  // namespace

TEST_CASE("an envelope carries the row's numbers byte for byte through encode and decode") {
    EnvelopeEncoder encoder("src");
    std::vector<KafkaRecord> records;
    encoder.encode(insert_row(kRow), kAccounts, 1763700000123, records);
    REQUIRE(records.size() == 1);
    CHECK(records[0].key == R"({"id":9223372036854775807})");
    CHECK(records[0].value.find(kRow) != std::string::npos);

    const Envelope envelope = decode_envelope(records[0].value);
    CHECK(envelope.op == 'c');
    CHECK(envelope.table == TableName{"public", "accounts"});
    CHECK(envelope.ts_us == 1763700000120811);
    CHECK(envelope.seq == 1043);
    CHECK(!envelope.before);
    REQUIRE(envelope.after);
    CHECK(*envelope.after == kRow);

    const Change change = make_change(envelope, records[0].key, kAccountsInfo, {{"t", 2}, 17});
    CHECK(change.key == R"({"id":9223372036854775807})");
    CHECK(change.row == kRow);
    CHECK(change.origin.partition == TopicPartition{"t", 2});
}

TEST_CASE("the envelope has the Debezium fields Flink's debezium-json reads") {
    EnvelopeEncoder encoder("src");
    std::vector<KafkaRecord> records;
    encoder.encode(insert_row(R"({"id":1})"), kAccounts, 5, records);
    CHECK(records[0].value ==
          R"({"before":null,"after":{"id":1},"op":"c","ts_ms":5,"source":{"db":"src",)"
          R"("schema":"public","table":"accounts","txId":771,"seq":1043,"ts_us":1763700000120811,)"
          R"("ts_ms":1763700000120}})");
}

TEST_CASE("an update that changes the primary key becomes a delete and a create") {
    EnvelopeEncoder encoder("src");
    LogRow row = insert_row(R"({"id":2,"v":"b"})");
    row.op = 'u';
    row.before = R"({"id":1,"v":"a"})";
    std::vector<KafkaRecord> records;
    encoder.encode(row, kAccounts, 5, records);
    REQUIRE(records.size() == 2);
    CHECK(records[0].key == R"({"id":1})");
    CHECK(decode_envelope(records[0].value).op == 'd');
    CHECK(records[1].key == R"({"id":2})");
    CHECK(decode_envelope(records[1].value).op == 'c');
}

TEST_CASE("bad envelopes are rejected with a reason") {
    CHECK_THROWS_WITH_AS(decode_envelope("not json"), doctest::Contains("not a JSON object"),
                         BadMessage);
    CHECK_THROWS_WITH_AS(decode_envelope("[1,2]"), doctest::Contains("not a JSON object"),
                         BadMessage);
    CHECK_THROWS_WITH_AS(decode_envelope(R"({"after":{"id":1}})"), doctest::Contains("op"),
                         BadMessage);
    CHECK_THROWS_WITH_AS(decode_envelope(R"({"op":"x"})"), doctest::Contains("unknown op"),
                         BadMessage);
    CHECK_THROWS_WITH_AS(
        decode_envelope(
            R"({"op":"c","after":null,"source":{"schema":"s","table":"t","ts_us":1,"seq":1}})"),
        doctest::Contains("without its row image"), BadMessage);
    CHECK_THROWS_WITH_AS(
        decode_envelope(
            R"({"op":"c","after":{"id":1},"source":{"schema":"s","table":"t","ts_us":1.5,"seq":1}})"),
        doctest::Contains("not an integer"), BadMessage);
    CHECK_THROWS_AS(decode_envelope(R"({"op":"c"} trailing)"), BadMessage);
}

TEST_CASE("a message key that does not match the row's key is rejected") {
    const Envelope envelope = decode_envelope(
        R"({"op":"c","after":{"id":1},"source":{"schema":"public","table":"accounts","ts_us":1,"seq":1}})");
    CHECK_NOTHROW(make_change(envelope, R"({ "id" : 1 })", kAccountsInfo, {}));
    CHECK_THROWS_WITH_AS(make_change(envelope, R"({"id":2})", kAccountsInfo, {}),
                         doctest::Contains("does not match"), BadMessage);
    const TableInfo other{{"public", "accounts"}, {}, {"account_no"}};
    CHECK_THROWS_WITH_AS(make_change(envelope, std::nullopt, other, {}),
                         doctest::Contains("primary key"), BadMessage);
}

TEST_CASE("a row with a column the destination lacks is schema drift, not a bad message") {
    const Envelope envelope = decode_envelope(
        R"({"op":"c","after":{"id":1,"added":"x"},"source":{"schema":"public","table":"accounts","ts_us":1,"seq":1}})");
    CHECK_THROWS_WITH_AS(make_change(envelope, std::nullopt, kAccountsInfo, {}),
                         doctest::Contains("\"added\""), SchemaDrift);
}

TEST_CASE("JSON nulls travel beside the image and become the change's column positions") {
    EnvelopeEncoder encoder("src");
    LogRow row = insert_row(R"({"id":1,"amount":null,"doc":null})");
    row.after_json_nulls = {"doc"};
    std::vector<KafkaRecord> records;
    encoder.encode(row, kAccounts, 5, records);
    REQUIRE(records.size() == 1);
    CHECK(records[0].value.ends_with(R"("ts_ms":1763700000120},"jsonNulls":{"after":["doc"]}})"));
    const Envelope envelope = decode_envelope(records[0].value);
    CHECK(envelope.after_json_nulls == std::vector<std::string>{"doc"});
    CHECK(envelope.before_json_nulls.empty());
    CHECK(make_change(envelope, std::nullopt, kAccountsInfo, {}).json_null_columns ==
          std::vector<int>{3});

    // A key change splits the lists with the images.
    row.op = 'u';
    row.before = R"({"id":0,"amount":null,"doc":null})";
    row.before_json_nulls = {"doc"};
    row.after_json_nulls.clear();
    records.clear();
    encoder.encode(row, kAccounts, 5, records);
    REQUIRE(records.size() == 2);
    CHECK(decode_envelope(records[0].value).before_json_nulls == std::vector<std::string>{"doc"});
    CHECK(records[1].value.find("jsonNulls") == std::string::npos);
}

TEST_CASE("a JSON null listed for a column that cannot hold one is a bad message") {
    const std::string source =
        R"(,"source":{"schema":"public","table":"accounts","ts_us":1,"seq":1})";
    const auto change_of = [&](const std::string& after, const std::string& nulls) {
        return make_change(decode_envelope(R"({"op":"c","after":)" + after + source +
                                           R"(,"jsonNulls":{"after":)" + nulls + "}}"),
                           std::nullopt, kAccountsInfo, {});
    };
    CHECK_THROWS_WITH_AS(change_of(R"({"id":1,"amount":null})", R"(["amount"])"),
                         doctest::Contains("\"amount\""), BadMessage);
    CHECK_THROWS_WITH_AS(change_of(R"({"id":1,"doc":{}})", R"(["doc"])"),
                         doctest::Contains("\"doc\""), BadMessage);
    CHECK_THROWS_WITH_AS(change_of(R"({"id":1,"doc":null})", R"(["nope"])"),
                         doctest::Contains("\"nope\""), BadMessage);
    CHECK_THROWS_WITH_AS(change_of(R"({"id":1,"doc":null})", R"("doc")"),
                         doctest::Contains("jsonNulls"), BadMessage);
}
