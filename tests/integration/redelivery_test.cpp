// Kafka delivers at least once: a batch can arrive again, and an old change can arrive after
// a newer one. The destination must not move backwards.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "harness/crafted_change.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kEpochUs = 1763700000000000;  // any plausible ts_us; only the order matters

// Applies everything in the topic and checks the consumer says it finished.
void drain_consumer(TestEnv& env) {
    Program consumer = env.consumer({"--drain"});
    const int code = consumer.wait(60s);
    REQUIRE_MESSAGE(code == 0, consumer.log());
}

std::vector<std::string> stored_offsets(const TestEnv& env) {
    return query_column(env.dest_url(),
                        "SELECT partition || ':' || next_offset FROM cdc.consumer_offsets "
                        "WHERE group_id = '" +
                            env.group() + "' AND topic = '" + env.topic() + "' ORDER BY partition");
}

std::string next_offset_of_partition0(const TestEnv& env) {
    return query_value(env.dest_url(),
                       "SELECT coalesce(max(next_offset), -1) FROM cdc.consumer_offsets "
                       "WHERE group_id = '" +
                           env.group() + "' AND topic = '" + env.topic() + "' AND partition = 0");
}

void create_items(TestEnv& env) {
    exec(env.source_url(), "CREATE TABLE public.items (id int PRIMARY KEY, x int)");
    const auto setup = env.setup({"--table", "public.items"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
}

void deliver(TestEnv& env, const std::vector<CraftedChange>& changes) {
    std::vector<KafkaMessage> messages;
    for (const auto& change : changes) messages.push_back(crafted_message(env.source_db(), change));
    produce_messages(env.brokers(), env.topic(), messages);
}

}  // namespace

TEST_CASE("replaying the whole topic newest first leaves the destination byte-identical") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(),
         "INSERT INTO employees (first_name, last_name, dob, city, salary) "
         "SELECT 'f' || i, 'l' || i, date '1980-01-01' + i, 'c' || (i % 7), 1000 * i "
         "FROM generate_series(1, 60) i;"
         "UPDATE employees SET salary = salary + 1 WHERE emp_id % 3 = 0;"
         "DELETE FROM employees WHERE emp_id % 10 = 0");
    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    drain_consumer(env);
    const auto gap = wait_until_replicated(env, "public.employees", 0s);
    REQUIRE_MESSAGE(gap.empty(), gap);

    const auto applied = stored_rows(env.dest_url(), "public.employees");
    const auto offsets = stored_offsets(env);
    REQUIRE(applied.size() == 54);
    REQUIRE_FALSE(offsets.empty());

    // Every message again, each partition's newest first: each row's history arrives
    // backwards (a delete before the update before the insert). Applied one message per
    // transaction, so nothing but the guards and tombstones keeps an older change from
    // overwriting a newer one.
    std::vector<KafkaMessage> history = read_all_messages(env.brokers(), env.topic());
    REQUIRE(history.size() > applied.size());
    std::map<int32_t, int64_t> replayed;
    for (const auto& message : history) ++replayed[message.partition];
    produce_messages(env.brokers(), env.topic(), {history.rbegin(), history.rend()});
    Program consumer = env.consumer({"--drain", "--batch-size", "1"});
    REQUIRE_MESSAGE(consumer.wait(120s) == 0, consumer.log());

    // The offsets prove the consumer read the whole replay.
    std::vector<std::string> expected_offsets;
    for (const auto& [partition, count] : replayed)
        expected_offsets.push_back(std::to_string(partition) + ":" + std::to_string(2 * count));
    CHECK(lines(stored_offsets(env)) == lines(expected_offsets));
    CHECK(lines(stored_rows(env.dest_url(), "public.employees")) == lines(applied));
}

TEST_CASE("an older update delivered again after a newer one is ignored") {
    TestEnv env;
    INFO(env.logs());
    create_items(env);
    const CraftedChange x2{
        "items", 'u', R"({"id":1})", R"({"id":1,"x":1})", R"({"id":1,"x":2})", 10, kEpochUs + 10};
    deliver(env, {{"items", 'c', R"({"id":1})", std::nullopt, R"({"id":1,"x":1})", 9, kEpochUs + 9},
                  x2,
                  {"items", 'u', R"({"id":1})", R"({"id":1,"x":2})", R"({"id":1,"x":3})", 11,
                   kEpochUs + 11}});
    drain_consumer(env);
    REQUIRE(query_value(env.dest_url(), "SELECT x FROM items WHERE id = 1") == "3");

    deliver(env, {x2});
    drain_consumer(env);

    CHECK(next_offset_of_partition0(env) == "4");
    CHECK(query_value(env.dest_url(), "SELECT x || ' ' || _cdc_seq FROM items WHERE id = 1") ==
          "3 11");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");
}

TEST_CASE("an insert delivered again after the row's delete does not resurrect it") {
    TestEnv env;
    INFO(env.logs());
    create_items(env);
    const CraftedChange insert{
        "items", 'c', R"({"id":1})", std::nullopt, R"({"id":1,"x":1})", 1, kEpochUs + 1};
    const std::string tombstones =
        "SELECT count(*) FROM cdc.tombstones WHERE schema_name = 'public' "
        "AND table_name = 'items' AND pk::jsonb = '{\"id\": 1}'";

    deliver(env, {insert});
    drain_consumer(env);
    REQUIRE(query_value(env.dest_url(), "SELECT count(*) FROM items WHERE id = 1") == "1");

    deliver(env,
            {{"items", 'd', R"({"id":1})", R"({"id":1,"x":1})", std::nullopt, 2, kEpochUs + 2}});
    drain_consumer(env);
    REQUIRE(query_value(env.dest_url(), "SELECT count(*) FROM items WHERE id = 1") == "0");
    CHECK(query_value(env.dest_url(), tombstones) == "1");

    // The second row shows the redelivery batch was applied, not skipped as a whole.
    deliver(env,
            {insert,
             {"items", 'c', R"({"id":2})", std::nullopt, R"({"id":2,"x":2})", 3, kEpochUs + 3}});
    drain_consumer(env);

    CHECK(next_offset_of_partition0(env) == "4");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items WHERE id = 2") == "1");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items WHERE id = 1") == "0");
    CHECK(query_value(env.dest_url(), tombstones) == "1");
}
