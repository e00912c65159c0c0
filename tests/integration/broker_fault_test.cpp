// Kafka itself at fault: a broker of a 3-broker cluster fails and comes back, messages
// expire before they were applied, a topic is recreated under stored offsets. Nothing is lost
// silently, and the remedy the consumer names heals the destination.
#include <doctest/doctest.h>

#include <pqxx/pqxx>
#include <string>

#include "harness/background_writer.hpp"
#include "harness/binaries.hpp"
#include "harness/dev_broker.hpp"
#include "harness/eventually.hpp"
#include "harness/exact_rows.hpp"
#include "harness/items_table.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

std::int64_t dest_rows(const TestEnv& env) {
    return std::stoll(query_value(env.dest_url(), "SELECT count(*) FROM items"));
}

std::int64_t log_rows(const TestEnv& env) {
    return std::stoll(query_value(env.source_url(), "SELECT count(*) FROM cdc.log"));
}

// The consumer's last line, its fatal reason.
std::string reason_of(const Program& consumer) {
    const std::string err = consumer.err();
    const auto at = err.rfind("consumer: ");
    return at == std::string::npos ? err : err.substr(at);
}

// The statement the loss report tells the operator to run on the destination.
std::string remedy_sql(const std::string& reason) {
    const std::string before = "on the destination run ";
    const auto start = reason.find(before);
    const auto end = reason.find(", start the consumer", start);
    if (start == std::string::npos || end == std::string::npos) return "";
    return reason.substr(start + before.size(), end - start - before.size());
}

// Follows the loss report's remedy: its statement, a consumer, db_verify --repair; then the
// destination equals the source again. `lost`: rows are missing that only the repair brings.
// The repair sends the lost rows again, more than the dev broker keeps: the producer holds
// back while the consumer catches up, as on the local stack.
void heal_as_told(TestEnv& env, const std::string& reason, Program& producer, bool lost) {
    const std::string sql = remedy_sql(reason);
    REQUIRE_MESSAGE(!sql.empty(), reason);
    exec(env.dest_url(), sql);
    CHECK(producer.stop() == 0);
    Program held_back =
        env.producer({"--max-group-lag", "200", "--group", env.group(), "--batch-size", "100"});
    Program consumer = env.consumer();
    const auto repair = env.verify({"--repair"});
    if (lost)
        CHECK_MESSAGE(repair.exit_code == 1, repair.log);  // it found the lost rows, sent them
    else
        CHECK_MESSAGE(repair.exit_code <= 1, repair.log);
    const auto gap = wait_until_replicated(env, kItems, 120s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(held_back.stop() == 0);
    CHECK(consumer.stop() == 0);
    require_verified(env);
}

}  // namespace

TEST_CASE("the partition leaders' broker fails mid-stream and returns: nothing lost or doubled") {
    TestEnv env;
    INFO(env.logs());
    // A cluster of its own: three brokers, every partition replicated three times.
    DevBroker cluster(3);
    cluster.create_topic(env.topic(), 3);
    cluster.create_topic(env.dlq_topic(), 1);
    const auto lead_everything = [&](std::int32_t broker) {
        for (int p = 0; p < 3; ++p) cluster.set_leader(env.topic(), p, broker);
        cluster.set_leader(env.dlq_topic(), 0, broker);
        cluster.set_coordinator(env.group(), broker);
    };
    lead_everything(1);
    exec(env.source_url(), kCreateItems);
    const Args kafka = {"--brokers", cluster.bootstraps(), "--topic", env.topic()};
    const auto setup =
        env.run(kDbSetup, {"--source", env.source_url(), "--dest", env.dest_url(), "--brokers",
                           cluster.bootstraps(), "--topic", env.topic(), "--table", kItems});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    Program producer = env.start(kProducer, {"--source", env.source_url(), "--brokers",
                                             cluster.bootstraps(), "--topic", env.topic()});
    Program consumer =
        env.start(kConsumer, {"--dest", env.dest_url(), "--brokers", cluster.bootstraps(),
                              "--topic", env.topic(), "--group", env.group()});
    BackgroundWriter writer(
        env.source_url(),
        [](pqxx::work& tx, std::int64_t n) {
            tx.exec("INSERT INTO items VALUES (" + std::to_string(n + 1) + ", 0, 'round " +
                    std::to_string(n) + "')");
            tx.exec("UPDATE items SET v = v + 1 WHERE id = " + std::to_string(n / 2 + 1));
            return true;
        },
        5ms);
    const auto progress = [&](std::int64_t beyond) {
        return eventually([&] { return dest_rows(env) > beyond; }, 60s);
    };
    REQUIRE_MESSAGE(progress(100), env.logs());

    // Broker 1 fails; the controller's part: leadership moves to broker 2.
    cluster.set_down(1);
    lead_everything(2);
    REQUIRE_MESSAGE(progress(dest_rows(env) + 100), env.logs());

    // It returns and takes its leadership back, as a preferred-leader election does.
    cluster.set_up(1);
    lead_everything(1);
    REQUIRE_MESSAGE(progress(dest_rows(env) + 100), env.logs());

    writer.stop();
    INFO("writer: ", writer.committed(), " committed, ", writer.failed(), " failed");
    const auto gap = wait_until_exact(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(producer.running());
    CHECK(consumer.running());
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
    require_verified(env);
}

// Retention removed messages the consumer had not applied (the dev broker keeps about 5 MB
// per partition): the report names the real missing range, and its remedy heals.
TEST_CASE("expired messages: the report names the missing offsets, its remedy heals") {
    TestEnv env(1);
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    {
        Program consumer = env.consumer();
        exec(env.source_url(),
             "INSERT INTO items SELECT i, 0, 'early' FROM generate_series(1, 10) i");
        const auto gap = wait_until_replicated(env, kItems, 60s);
        REQUIRE_MESSAGE(gap.empty(), gap);
        CHECK(consumer.stop() == 0);
    }
    const std::string stored =
        query_value(env.dest_url(), "SELECT next_offset FROM cdc.consumer_offsets");
    // About 20 MB of hex that compresses to about half, while no consumer runs: the oldest
    // messages expire.
    for (int chunk = 0; chunk < 20; ++chunk)
        exec(env.source_url(),
             "INSERT INTO items SELECT i, 1, (SELECT string_agg(md5(i::text || j::text), '') "
             "FROM generate_series(1, 300) j) FROM generate_series(" +
                 std::to_string(11 + chunk * 100) + ", " + std::to_string(110 + chunk * 100) +
                 ") i");
    REQUIRE_MESSAGE(eventually([&] { return log_rows(env) == 0; }, 60s), producer.log());
    const auto held = read_all_messages(env.brokers(), env.topic());
    REQUIRE(!held.empty());
    const std::int64_t log_start = held.front().offset;
    REQUIRE(log_start > std::stoll(stored));

    Program failed = env.consumer({"--retry-for", "5"});
    CHECK_MESSAGE(failed.wait(60s) == 3, failed.log());
    const std::string reason = reason_of(failed);
    CHECK_MESSAGE(reason.find("changes lost: " + env.topic() +
                              " partition 0 no longer holds "
                              "offsets " +
                              stored + " to " + std::to_string(log_start - 1) + " (" +
                              std::to_string(log_start - std::stoll(stored)) +
                              " messages, its log now starts at " + std::to_string(log_start) +
                              ")") != std::string::npos,
                  reason);
    CHECK(query_value(env.dest_url(), "SELECT next_offset FROM cdc.consumer_offsets") == stored);
    heal_as_told(env, reason, producer, true);
}

// What a restarted dev broker (empty again) or a recreated topic looks like to the consumer.
TEST_CASE("offsets stored beyond the end of the log: reported as a recreated topic, remedy heals") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    {
        Program consumer = env.consumer();
        exec(env.source_url(), "INSERT INTO items SELECT i, 0, 'x' FROM generate_series(1, 30) i");
        const auto gap = wait_until_replicated(env, kItems, 60s);
        REQUIRE_MESSAGE(gap.empty(), gap);
        CHECK(consumer.stop() == 0);
    }
    // The old topic's offsets, far past the end of this one.
    exec(env.dest_url(), "UPDATE cdc.consumer_offsets SET next_offset = next_offset + 1000");
    exec(env.source_url(), "UPDATE items SET v = 2 WHERE id <= 5");
    REQUIRE_MESSAGE(eventually([&] { return log_rows(env) == 0; }, 60s), producer.log());

    Program failed = env.consumer({"--retry-for", "5"});
    CHECK_MESSAGE(failed.wait(60s) == 3, failed.log());
    const std::string reason = reason_of(failed);
    CHECK_MESSAGE(reason.find("changes lost: " + env.topic() + " partition ") != std::string::npos,
                  reason);
    CHECK_MESSAGE(reason.find("the topic was recreated or truncated") != std::string::npos, reason);
    CHECK_MESSAGE(reason.find("but the destination stored 10") != std::string::npos, reason);
    CHECK_MESSAGE(reason.find("-1") == std::string::npos, reason);  // no sentinel offsets
    heal_as_told(env, reason, producer, false);
}

// The local window: a broker that keeps little must not drop what the consumer has not
// applied, so the producer waits while the group is too far behind.
TEST_CASE("with --max-group-lag the producer holds back while the group lags, then goes on") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    exec(env.source_url(), "INSERT INTO items SELECT i, 0, 'x' FROM generate_series(1, 5000) i");
    Program producer =
        env.producer({"--max-group-lag", "300", "--group", env.group(), "--batch-size", "100"});
    REQUIRE_MESSAGE(
        eventually([&] { return producer.logged("holding back: group " + env.group()); }, 60s),
        producer.log());
    // Within the limit on every partition plus at most one page: far from all 5000.
    CHECK(read_all_messages(env.brokers(), env.topic()).size() <= 3 * (300 + 100));

    Program consumer = env.consumer();
    const auto gap = wait_until_replicated(env, kItems, 120s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(producer.logged("caught up after"));
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
    require_verified(env);
}
