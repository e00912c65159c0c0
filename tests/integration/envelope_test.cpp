// Flink's debezium-json format and Debezium-aware tools read pgtrail's topic without any of
// pgtrail's code. This test reads it the same way, with kcat and a general JSON parser, and
// checks every field of every kind of change, and that each key sits in the partition the
// Java client's partitioner would choose.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/kcat.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;

namespace {

// Kafka's Java client hashes a record key with this murmur2 variant (seed 0x9747b28c) and
// takes (hash & 0x7fffffff) % partitions. Written from the algorithm's description.
std::int32_t java_murmur2(const std::string& data) {
    const std::uint32_t m = 0x5bd1e995;
    const auto length = static_cast<std::uint32_t>(data.size());
    std::uint32_t h = 0x9747b28c ^ length;
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(data[i]); };
    const std::size_t whole = data.size() / 4 * 4;
    for (std::size_t i = 0; i < whole; i += 4) {
        std::uint32_t k = byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16 |
                          static_cast<std::uint32_t>(byte(i + 3)) << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (data.size() % 4) {
        case 3:
            h ^= static_cast<std::uint32_t>(byte(whole + 2)) << 16;
            [[fallthrough]];
        case 2:
            h ^= static_cast<std::uint32_t>(byte(whole + 1)) << 8;
            [[fallthrough]];
        case 1:
            h ^= byte(whole);
            h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return static_cast<std::int32_t>(h);
}

int java_partition(const std::string& key, int partitions) {
    return static_cast<int>(static_cast<std::uint32_t>(java_murmur2(key)) & 0x7fffffff) %
           partitions;
}

struct Record {
    KcatRecord raw;
    rapidjson::Document value;
    std::int64_t seq = 0;
    char op = '?';
};

std::vector<std::string> member_names(const rapidjson::Value& object) {
    std::vector<std::string> names;
    for (const auto& member : object.GetObject()) names.emplace_back(member.name.GetString());
    return names;
}

const rapidjson::Value& source_of(const Record& record) { return record.value["source"]; }

}  // namespace

TEST_CASE("the Java client's murmur2 reference values") {
    // From Apache Kafka's own unit tests of Utils.murmur2.
    CHECK(java_murmur2("21") == -973932308);
    CHECK(java_murmur2("foobar") == -790332482);
    CHECK(java_murmur2("abc") == 479470107);
}

TEST_CASE("kcat reads a complete Debezium envelope for every kind of change") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(),
         "CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL, "
         "price numeric(10,2), tags text[]); "
         "INSERT INTO items VALUES (1, 'old', 1.00, '{a}')");
    const auto setup = env.setup({"--table", "public.items", "--snapshot"});
    // The row the table held went straight to the destination; only changes are published.
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(), "INSERT INTO items VALUES (2, 'pen', 12.50, '{b,c}')");
    exec(env.source_url(), "UPDATE items SET price = 13.75 WHERE id = 2");
    exec(env.source_url(), "DELETE FROM items WHERE id = 2");
    exec(env.source_url(), "UPDATE items SET id = 3 WHERE id = 1");
    const auto before_publish = std::chrono::system_clock::now();
    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(std::chrono::seconds(60)) == 0, producer.log());

    std::vector<Record> records;
    for (auto& raw : kcat_consume(env.brokers(), env.topic())) {
        Record record{std::move(raw), {}, 0, '?'};
        record.value.Parse(record.raw.value.c_str());
        REQUIRE_MESSAGE(!record.value.HasParseError(), record.raw.value);
        REQUIRE_MESSAGE(record.value.IsObject(), record.raw.value);
        record.seq = source_of(record)["seq"].GetInt64();
        record.op = record.value["op"].GetString()[0];
        records.push_back(std::move(record));
    }
    // A primary-key change is a delete and a create from one log row: same seq, delete first.
    std::stable_sort(records.begin(), records.end(), [](const Record& a, const Record& b) {
        return a.seq < b.seq || (a.seq == b.seq && a.op == 'd' && b.op == 'c');
    });
    std::string ops;
    for (const auto& record : records) ops += record.op;
    REQUIRE(ops == "cuddc");

    const std::vector<std::string> envelope_fields{"before", "after", "op", "ts_ms", "source"};
    const std::vector<std::string> source_fields{"db",  "schema", "table", "txId",
                                                 "seq", "ts_us",  "ts_ms"};
    const auto published_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(before_publish.time_since_epoch())
            .count();
    std::int64_t previous_ts_us = 0;
    for (const auto& record : records) {
        CAPTURE(record.raw.value);
        CHECK(member_names(record.value) == envelope_fields);
        const auto& source = source_of(record);
        CHECK(member_names(source) == source_fields);
        CHECK(source["db"].GetString() == env.source_db());
        CHECK(source["schema"].GetString() == std::string("public"));
        CHECK(source["table"].GetString() == std::string("items"));
        CHECK(source["txId"].IsUint64());
        const std::int64_t ts_us = source["ts_us"].GetInt64();
        CHECK(ts_us >= previous_ts_us);
        previous_ts_us = ts_us;
        CHECK(source["ts_ms"].GetInt64() == ts_us / 1000);
        // ts_ms is when the producer processed the change, after the source wrote it.
        CHECK(record.value["ts_ms"].GetInt64() >= published_ms);
        CHECK(record.value["ts_ms"].GetInt64() >= source["ts_ms"].GetInt64());

        const bool has_before = record.op == 'u' || record.op == 'd';
        const bool has_after = record.op != 'd';
        CHECK(record.value["before"].IsObject() == has_before);
        CHECK(record.value["before"].IsNull() == !has_before);
        CHECK(record.value["after"].IsObject() == has_after);
        CHECK(record.value["after"].IsNull() == !has_after);
        const auto& row = has_after ? record.value["after"] : record.value["before"];
        CHECK(member_names(row) == std::vector<std::string>{"id", "name", "price", "tags"});
        CHECK(record.raw.key == "{\"id\":" + std::to_string(row["id"].GetInt()) + "}");
        CHECK(record.raw.partition == java_partition(record.raw.key, 3));
    }

    // The rows themselves, with numeric text exactly as PostgreSQL wrote it.
    CHECK(records[0].raw.value.find(
              R"("after":{"id":2,"name":"pen","price":12.50,"tags":["b","c"]})") !=
          std::string::npos);
    CHECK(records[1].raw.value.find(R"("before":{"id":2,"name":"pen","price":12.50,)") !=
          std::string::npos);
    CHECK(records[1].raw.value.find(R"("after":{"id":2,"name":"pen","price":13.75,)") !=
          std::string::npos);
    CHECK(records[2].raw.value.find(R"("before":{"id":2,"name":"pen","price":13.75,)") !=
          std::string::npos);
    CHECK(records[3].raw.value.find(
              R"("before":{"id":1,"name":"old","price":1.00,"tags":["a"]})") != std::string::npos);
    CHECK(records[3].raw.key == R"({"id":1})");
    CHECK(records[4].raw.key == R"({"id":3})");
    // Each statement above was its own transaction; the key change's two records share one.
    CHECK(source_of(records[0])["txId"].GetUint64() < source_of(records[1])["txId"].GetUint64());
    CHECK(source_of(records[3])["txId"].GetUint64() == source_of(records[4])["txId"].GetUint64());
}
