// Anything can be written to a Kafka topic. A message the consumer cannot apply must land in
// the dead-letter topic and cdc.dead_letters, with the reason and where it came from, while
// the good messages around it keep flowing and the consumer keeps running.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "harness/crafted_change.hpp"
#include "harness/eventually.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/kcat.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kEpochUs = 1763700000000000;

std::string employee(int id, const std::string& first_name, const std::string& salary) {
    return R"({"emp_id":)" + std::to_string(id) + R"(,"first_name":)" + first_name +
           R"(,"last_name":"L","dob":"1990-01-01","city":"Oslo","salary":)" + salary + "}";
}

std::string key_of(int id) { return R"({"emp_id":)" + std::to_string(id) + "}"; }

// A create of employees row id, as the producer would write it.
KafkaMessage create(const TestEnv& env, int id, int64_t seq, const std::string& row) {
    return crafted_message(env.source_db(),
                           {"employees", 'c', key_of(id), std::nullopt, row, seq, kEpochUs + seq});
}

KafkaMessage good(const TestEnv& env, int id, int64_t seq) {
    return create(env, id, seq, employee(id, "\"Good" + std::to_string(id) + "\"", "1000"));
}

// What the consumer must have recorded about one bad message.
struct Expected {
    int32_t partition;
    int64_t offset;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<std::string> reason_mentions;
};

std::string hex(const std::optional<std::string>& bytes) {
    if (!bytes) return "NULL";
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : *bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string dead_letter_count(const TestEnv& env) {
    return query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters");
}

std::string applied_ids(const TestEnv& env) {
    return query_value(env.dest_url(),
                       "SELECT coalesce(string_agg(emp_id::text, ',' ORDER BY emp_id), '') "
                       "FROM employees");
}

std::string next_offset(const TestEnv& env, int partition) {
    return query_value(env.dest_url(),
                       "SELECT coalesce(max(next_offset), -1) FROM cdc.consumer_offsets "
                       "WHERE group_id = '" +
                           env.group() + "' AND topic = '" + env.topic() +
                           "' AND partition = " + std::to_string(partition));
}

void check_dead_letters(const TestEnv& env, const std::vector<Expected>& expected) {
    // The table, exactly one row per bad message.
    const auto rows = query_column(
        env.dest_url(),
        "SELECT topic || ' ' || partition || ' ' || \"offset\" || ' ' || "
        "coalesce(encode(key, 'hex'), 'NULL') || ' ' || coalesce(encode(value, 'hex'), 'NULL') "
        "|| ' ' || reason FROM cdc.dead_letters ORDER BY partition, \"offset\"");
    REQUIRE_MESSAGE(rows.size() == expected.size(), lines(rows));
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const Expected& e = expected[i];
        const std::string prefix = env.topic() + " " + std::to_string(e.partition) + " " +
                                   std::to_string(e.offset) + " " + hex(e.key) + " " +
                                   hex(e.value) + " ";
        CAPTURE(rows[i].substr(0, 600));
        REQUIRE(rows[i].rfind(prefix, 0) == 0);
        const std::string reason = rows[i].substr(prefix.size());
        for (const auto& word : e.reason_mentions) {
            CAPTURE(word);
            CHECK(reason.find(word) != std::string::npos);
        }
    }

    // The topic: each letter with its reason and origin in headers, key and value untouched.
    // The topic is at-least-once, so a letter may appear twice but none may be missing.
    const auto records = read_all_messages(env.brokers(), env.dlq_topic());
    std::map<std::string, KafkaMessage> by_source;
    for (const auto& record : records) {
        const auto source = record.header("pgtrail.source");
        REQUIRE_MESSAGE(source.has_value(), "a dead letter without pgtrail.source at offset ",
                        record.offset);
        by_source.emplace(*source, record);
    }
    CHECK(by_source.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const Expected& e = expected[i];
        const std::string source =
            env.topic() + "/" + std::to_string(e.partition) + "/" + std::to_string(e.offset);
        CAPTURE(source);
        const auto found = by_source.find(source);
        REQUIRE(found != by_source.end());
        CHECK(hex(found->second.key) == hex(e.key));
        CHECK(hex(found->second.value) == hex(e.value));
        const auto reason = found->second.header("pgtrail.reason");
        REQUIRE(reason.has_value());
        // The same reason as in the table.
        CHECK(rows[i].size() >= reason->size());
        CHECK(rows[i].compare(rows[i].size() - reason->size(), reason->size(), *reason) == 0);
    }
}

}  // namespace

TEST_CASE("bad messages go to the dead-letter topic and table; good ones around them apply") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);

    const std::string long_name = "\"" + std::string(101, 'n') + "\"";  // varchar(100)
    std::string no_op = good(env, 4, 4).value.value();
    no_op.replace(no_op.find(R"("op":"c",)"), 9, "");
    REQUIRE(no_op.find("\"op\"") == std::string::npos);

    // Partition 0, through a Kafka client: offsets 0 to 7.
    std::vector<KafkaMessage> messages = {
        good(env, 1, 1),
        {0, 0, key_of(3), "this is not JSON {"},
        {0, 0, key_of(4), no_op},
        crafted_message(env.source_db(), {"no_such_table", 'c', key_of(5), std::nullopt,
                                          employee(5, "\"X\"", "1"), 5, kEpochUs + 5}),
        create(env, 6, 6, employee(6, "\"Abc\"", "\"abc\"")),
        create(env, 7, 7, employee(7, long_name, "1")),
        // The row is employee 8, the key says 99.
        {0, 0, key_of(99), create(env, 8, 8, employee(8, "\"K\"", "1")).value},
        good(env, 2, 9),
    };
    const std::vector<Expected> bad_in_partition0 = {
        {0, 1, messages[1].key, messages[1].value, {"JSON"}},
        {0, 2, messages[2].key, messages[2].value, {"\"op\""}},
        {0, 3, messages[3].key, messages[3].value, {"no_such_table"}},
        {0, 4, messages[4].key, messages[4].value, {"employees", "integer", "abc"}},
        {0, 5, messages[5].key, messages[5].value, {"employees", "too long"}},
        {0, 6, messages[6].key, messages[6].value, {"key", "99"}},
    };

    Program consumer = env.consumer({"-X", "session.timeout.ms=6000"});
    produce_messages(env.brokers(), env.topic(), messages);

    REQUIRE_MESSAGE(eventually([&] { return next_offset(env, 0) == "8"; }, 60s),
                    "stored offset of partition 0: ", next_offset(env, 0));
    CHECK(consumer.running());
    CHECK(applied_ids(env) == "1,2");
    check_dead_letters(env, bad_in_partition0);
    CHECK(consumer.stop() == 0);

    // Partition 1, with kcat, then a draining consumer: it must finish (exit 0), not stop at
    // the first bad message.
    const std::string good10 = good(env, 10, 10).value.value();
    std::string unknown_op = good(env, 11, 11).value.value();
    unknown_op.replace(unknown_op.find(R"("op":"c")"), 8, R"("op":"z")");
    const std::string good12 = good(env, 12, 12).value.value();
    kcat_produce(
        env.brokers(), env.topic(), 1,
        {key_of(10) + "|{\"before\":null,\"after\":{\"emp_id\":10", key_of(10) + "|" + good10,
         key_of(11) + "|" + unknown_op, key_of(12) + "|" + good12});
    Program drain = env.consumer({"--drain", "-X", "session.timeout.ms=6000"});
    REQUIRE_MESSAGE(drain.wait(60s) == 0, drain.log());
    CHECK(next_offset(env, 1) == "4");
    CHECK(applied_ids(env) == "1,2,10,12");

    std::vector<Expected> all = bad_in_partition0;
    all.push_back({1, 0, key_of(10), "{\"before\":null,\"after\":{\"emp_id\":10", {"JSON"}});
    all.push_back({1, 2, key_of(11), unknown_op, {"op", "z"}});
    check_dead_letters(env, all);
}

TEST_CASE("a null-value record (compaction tombstone) is skipped and its offset committed") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);

    // Partition 0: a change, then a tombstone for the same key as the last record. Partition 1:
    // nothing but a tombstone. Only committing the tombstones' offsets lets --drain finish.
    produce_messages(env.brokers(), env.topic(), {good(env, 1, 1)});
    kcat_produce(env.brokers(), env.topic(), 0, {key_of(1) + "|"}, true);
    kcat_produce(env.brokers(), env.topic(), 1, {key_of(2) + "|"}, true);
    const auto topic = read_all_messages(env.brokers(), env.topic());
    REQUIRE(topic.size() == 3);
    REQUIRE_FALSE(topic[1].value.has_value());
    REQUIRE_FALSE(topic[2].value.has_value());

    Program drain = env.consumer({"--drain", "-X", "session.timeout.ms=6000"});
    REQUIRE_MESSAGE(drain.wait(60s) == 0, drain.log());
    CHECK(next_offset(env, 0) == "2");
    CHECK(next_offset(env, 1) == "1");
    // A tombstone is not a delete: the row stays, and nothing is dead-lettered.
    CHECK(applied_ids(env) == "1");
    CHECK(dead_letter_count(env) == "0");
    CHECK(read_all_messages(env.brokers(), env.dlq_topic()).empty());
}
