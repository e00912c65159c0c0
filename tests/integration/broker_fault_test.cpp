// Kafka itself at fault: a broker of a 3-broker cluster fails and comes back, messages
// expire before they were applied, a topic is recreated under stored offsets, brokers or the
// group coordinator stop answering the consumer. Nothing is lost silently, the remedy the
// consumer names heals the destination, and a consumer never waits on Kafka without end.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>

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
using Clock = std::chrono::steady_clock;

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

// A dev broker of the test's own, so that taking it down leaves the shared one (and the
// tests running after this one) alone: its topics, db_setup against it, and the programs'
// flags for it.
struct OwnBroker {
    OwnBroker(TestEnv& env, int brokers, int partitions) : env(env), cluster(brokers) {
        cluster.create_topic(env.topic(), partitions);
        cluster.create_topic(env.dlq_topic(), 1);
        exec(env.source_url(), kCreateItems);
        const auto setup =
            env.run(kDbSetup, {"--source", env.source_url(), "--dest", env.dest_url(), "--brokers",
                               cluster.bootstraps(), "--topic", env.topic(), "--table", kItems});
        REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    }
    Program producer(const Args& extra = {}) {
        Args args = {"--source",           env.source_url(), "--brokers",
                     cluster.bootstraps(), "--topic",        env.topic()};
        args.insert(args.end(), extra.begin(), extra.end());
        return env.start(kProducer, args);
    }
    Program consumer(const Args& extra = {}) {
        Args args = {"--dest",  env.dest_url(), "--brokers", cluster.bootstraps(),
                     "--topic", env.topic(),    "--group",   env.group()};
        args.insert(args.end(), extra.begin(), extra.end());
        return env.start(kConsumer, args);
    }
    // Every broker down (true) or up again.
    void all_down(bool down, int brokers) {
        for (int b = 1; b <= brokers; ++b) down ? cluster.set_down(b) : cluster.set_up(b);
    }

    TestEnv& env;
    DevBroker cluster;
};

// Each round inserts one new row: one message per row, so the rows on the destination can be
// counted against the messages below the stored offsets.
BackgroundWriter::Round new_row_each_round() {
    return [](pqxx::work& tx, std::int64_t n) {
        tx.exec("INSERT INTO items VALUES (" + std::to_string(n + 1) + ", 0, 'round " +
                std::to_string(n) + "')");
        return true;
    };
}

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
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

// The group join at start waits on Kafka too: with every broker down, or with the brokers up
// but the group's coordinator down, the consumer (also with --drain) gives up after
// --retry-for and names what stayed unreachable.
TEST_CASE("Kafka unreachable at start: the consumer exits 3 after --retry-for naming what") {
    TestEnv env;
    INFO(env.logs());
    OwnBroker kafka(env, 3, 3);
    for (int p = 0; p < 3; ++p) kafka.cluster.set_leader(env.topic(), p, 1);
    kafka.cluster.set_coordinator(env.group(), 3);
    // Something to drain, so that --drain has to join the group.
    produce_messages(kafka.cluster.bootstraps(), env.topic(), {{0, 0, "{\"id\":1}", "x"}});
    struct Case {
        const char* what;
        std::string reason;  // what the one line must say
        Args extra;
    };
    const Case cases[] = {
        {"every broker down", "cannot reach Kafka brokers " + kafka.cluster.bootstraps(), {}},
        {"coordinator down", "cannot reach the group coordinator of group " + env.group(), {}},
        {"coordinator down, --drain",
         "cannot reach the group coordinator of group " + env.group(),
         {"--drain"}},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const bool everything = c.extra.empty() && c.reason.find("brokers") != std::string::npos;
        everything ? kafka.all_down(true, 3) : kafka.cluster.set_down(3);
        const auto started = Clock::now();
        Args args = {"--retry-for", "5"};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        Program consumer = kafka.consumer(args);
        const int code = consumer.wait(60s);
        const auto took = since(started);
        kafka.all_down(false, 3);
        CHECK_MESSAGE(code == 3, consumer.log());
        CHECK_MESSAGE(took < 5s + 10s, took.count(), " ms\n", consumer.log());
        const std::string reason = reason_of(consumer);
        CHECK_MESSAGE(reason.find(c.reason + ": still failing after ") != std::string::npos,
                      reason);
        CHECK_MESSAGE(reason.find("(--retry-for 5)") != std::string::npos, reason);
        CHECK_MESSAGE(consumer.logged("retrying for up to 5 s"), consumer.log());
    }
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.consumer_offsets") == "0");
}

TEST_CASE("broker lost under a running consumer: exit 3 after --retry-for, a rerun resumes") {
    TestEnv env;
    INFO(env.logs());
    OwnBroker kafka(env, 1, 3);
    Program producer = kafka.producer({"--retry-for", "300"});
    BackgroundWriter writer(env.source_url(), new_row_each_round(), 10ms);
    std::optional<Program> consumer(kafka.consumer({"--retry-for", "5"}));
    REQUIRE_MESSAGE(eventually([&] { return dest_rows(env) >= 50; }, 60s), env.logs());

    kafka.cluster.set_down();
    const auto down_since = Clock::now();
    const int code = consumer->wait(60s);
    const auto took = since(down_since);
    CHECK_MESSAGE(code == 3, consumer->log());
    // The budget, the few seconds before a quiet consumer asks Kafka itself, and about 10 s
    // librdkafka takes to destroy the outage watch's client while the coordinator is gone.
    CHECK_MESSAGE(took < 5s + 25s, took.count(), " ms\n", consumer->log());
    const std::string reason = reason_of(*consumer);
    CHECK_MESSAGE(reason.find("cannot reach Kafka brokers " + kafka.cluster.bootstraps() +
                              ": still failing after ") != std::string::npos,
                  reason);
    CHECK_MESSAGE(consumer->logged("nothing applied meanwhile, offsets not advanced"),
                  consumer->log());
    const std::int64_t applied = dest_rows(env);
    std::map<std::int32_t, std::int64_t> stored;
    for (const auto& row : query_column(
             env.dest_url(), "SELECT partition || ' ' || next_offset FROM cdc.consumer_offsets"))
        stored[std::stoi(row.substr(0, row.find(' ')))] = std::stoll(row.substr(row.find(' ')));

    kafka.cluster.set_up();
    // The destination holds exactly the changes below its stored offsets: none applied
    // without its offset, no offset stored past what was applied.
    std::int64_t covered = 0;
    for (const auto& message : read_all_messages(kafka.cluster.bootstraps(), env.topic()))
        covered +=
            stored.count(message.partition) != 0 && message.offset < stored[message.partition];
    CHECK(applied == covered);
    CHECK(applied > 0);

    consumer.emplace(kafka.consumer());
    writer.stop();
    const auto gap = wait_until_exact(env, kItems, 120s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(producer.running());
    CHECK(producer.stop() == 0);
    CHECK(consumer->stop() == 0);
    require_verified(env);
}

TEST_CASE("broker away for less than --retry-for: the consumer waits, then goes on applying") {
    TestEnv env;
    INFO(env.logs());
    OwnBroker kafka(env, 1, 3);
    Program producer = kafka.producer({"--retry-for", "300"});
    Program consumer = kafka.consumer({"--retry-for", "30"});
    BackgroundWriter writer(env.source_url(), new_row_each_round(), 20ms);
    REQUIRE_MESSAGE(eventually([&] { return dest_rows(env) >= 20; }, 60s), env.logs());
    {
        kafka.cluster.set_down();
        const auto down_since = Clock::now();
        REQUIRE_MESSAGE(
            eventually([&] { return consumer.logged("cannot reach Kafka brokers "); }, 20s),
            consumer.log());
        CHECK(
            consumer.logged("nothing applied meanwhile, offsets not advanced, retrying for up "
                            "to 30 s"));
        std::this_thread::sleep_until(down_since + 10s);  // the outage lasts 10 s
        REQUIRE_MESSAGE(consumer.running(), consumer.log());
        kafka.cluster.set_up();
    }
    REQUIRE_MESSAGE(eventually([&] { return consumer.logged("Kafka brokers answer again"); }, 30s),
                    consumer.log());
    const std::int64_t after_outage = dest_rows(env);
    REQUIRE_MESSAGE(eventually([&] { return dest_rows(env) >= after_outage + 50; }, 60s),
                    env.logs());
    writer.stop();
    const auto gap = wait_until_exact(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(consumer.running());
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
    require_verified(env);
}

TEST_CASE("SIGTERM while Kafka does not answer: the consumer exits 0 within 2 s") {
    TestEnv env;
    INFO(env.logs());
    OwnBroker kafka(env, 1, 3);
    Program consumer = kafka.consumer({"--retry-for", "120"});
    REQUIRE_MESSAGE(
        eventually([&] { return consumer.logged("assigned partitions of " + env.topic()); }, 30s),
        consumer.log());
    kafka.cluster.set_down();
    REQUIRE_MESSAGE(eventually([&] { return consumer.logged("cannot reach Kafka brokers "); }, 20s),
                    consumer.log());
    const auto signalled = Clock::now();
    const int code = consumer.stop();
    const auto took = since(signalled);
    kafka.cluster.set_up();
    CHECK_MESSAGE(code == 0, consumer.log());
    CHECK_MESSAGE(took < 2s, took.count(), " ms\n", consumer.log());
    CHECK_MESSAGE(
        consumer.logged("shutdown requested during an outage (cannot reach Kafka brokers"),
        consumer.log());
    CHECK_MESSAGE(consumer.logged("stopped; applied 0 messages"), consumer.log());
}

// Legitimate quiet is no outage: a member that got no partition (two members, one partition)
// and an idle member that has it both stay up well past their budget.
TEST_CASE("a member without partitions and an idle one stay up past --retry-for") {
    TestEnv env;
    INFO(env.logs());
    OwnBroker kafka(env, 1, 1);
    Program producer = kafka.producer();
    Args quick = kQuickRejoin;
    quick.insert(quick.end(), {"--retry-for", "3"});
    Program first = kafka.consumer(quick);
    REQUIRE_MESSAGE(
        eventually([&] { return first.logged("assigned partitions of " + env.topic() + ": 0@"); },
                   30s),
        first.log());
    Program second = kafka.consumer(quick);
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return first.logged(env.topic() + ": none") ||
                                   second.logged(env.topic() + ": none");
                        },
                        30s),
                    env.logs());
    // Watching both for three budgets and more: neither may give up.
    const auto watched_since = Clock::now();
    while (Clock::now() < watched_since + 12s) {
        REQUIRE_MESSAGE(first.running(), first.log());
        REQUIRE_MESSAGE(second.running(), second.log());
        std::this_thread::sleep_for(200ms);
    }
    CHECK_FALSE(first.logged("cannot reach"));
    CHECK_FALSE(second.logged("cannot reach"));
    exec(env.source_url(), "INSERT INTO items VALUES (1, 0, 'after the quiet')");
    const auto gap = wait_until_exact(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(producer.stop() == 0);
    CHECK(first.stop() == 0);
    CHECK(second.stop() == 0);
}

// A member killed with -9 stays in the group until its 10 s session ends, and the rebalance
// that lets a new member in waits for it: a join in progress that completes is no outage,
// even when it lasts longer than --retry-for.
TEST_CASE("a group join held up by a killed member waits past --retry-for, then consumes") {
    TestEnv env;
    INFO(env.logs());
    OwnBroker kafka(env, 1, 3);
    Program producer = kafka.producer();
    Program killed = kafka.consumer();
    REQUIRE_MESSAGE(
        eventually([&] { return killed.logged("assigned partitions of " + env.topic()); }, 30s),
        killed.log());
    killed.kill();
    const auto killed_at = Clock::now();
    Program joining = kafka.consumer({"--retry-for", "3"});
    REQUIRE_MESSAGE(
        eventually([&] { return joining.logged("assigned partitions of " + env.topic()); }, 60s),
        joining.log());
    // The join had to wait for the killed member's session, longer than the budget.
    CHECK(since(killed_at) > 3s + 3s);
    CHECK_FALSE(joining.logged("cannot reach"));
    exec(env.source_url(), "INSERT INTO items VALUES (1, 0, 'after the rebalance')");
    const auto gap = wait_until_exact(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(producer.stop() == 0);
    CHECK(joining.stop() == 0);
}
