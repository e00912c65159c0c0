// How the programs end around a fault, as an operator running them under systemd or cron
// sees it: SIGTERM during an outage is a clean stop (exit 0 within 2 s, a "stopped" line,
// nothing half-recorded); an outage that outlasts --retry-for is exit 3 naming what stayed
// unreachable and for how long, Kafka's waits included; a dead-letter topic that is missing
// is a clear error and no letter is lost.
#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <string>

#include "common/pqxx_compat.hpp"
#include "harness/background_writer.hpp"
#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/items_table.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/refusing_broker.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string last_line(std::string text) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    const auto start = text.rfind('\n');
    return start == std::string::npos ? text : text.substr(start + 1);
}

// SIGTERM, and how long the program took to exit.
std::pair<int, std::chrono::milliseconds> stop_timed(Program& program) {
    const auto sent = Clock::now();
    const int code = program.stop();
    return {code, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent)};
}

// A fresh producer and consumer bring the destination level with the source: nothing the
// stopped programs left behind was recorded as done without being done. A new row (id 0,
// which steady_changes never writes) must arrive too, so both programs are past their start
// (signal handlers installed) before they are stopped.
void resume_and_verify(TestEnv& env) {
    Program producer = env.producer();
    Program consumer = env.consumer();
    exec(env.source_url(), "INSERT INTO items VALUES (0, 0, 'resumed')");
    REQUIRE_MESSAGE(eventually([&] {
                        return query_value(env.dest_url(),
                                           "SELECT count(*) FROM items WHERE id = 0") == "1";
                    }),
                    env.logs());
    const auto gap = wait_until_replicated(env, kItems, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    require_verified(env);
}

// Whether the producer's stored position covers the transaction `txid`.
std::string position_covers(const std::string& txid) {
    return "SELECT coalesce(pg_visible_in_snapshot('" + txid +
           "'::xid8, snapshot), false) FROM cdc.producer_position";
}

// Inserts a row in its own transaction and returns the transaction's id.
std::string insert_marker(const std::string& url, int id) {
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    pgtrail::pq::exec0(tx, "INSERT INTO items VALUES (" + std::to_string(id) + ", 0, 'marker')");
    const std::string txid =
        pgtrail::pq::exec1(tx, "SELECT pg_current_xact_id()::text")[0].as<std::string>();
    tx.commit();
    return txid;
}

}  // namespace

TEST_CASE("SIGTERM while the destination is down: the consumer stops cleanly within 2 s") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer({"--retry-for", "120"});
    {
        BackgroundWriter writer(env.source_url(), steady_changes(), 20ms);
        REQUIRE_MESSAGE(eventually([&] { return rows_on(env.dest_url()) >= 20; }), env.logs());
        ClusterOutage outage(services().dest);
        REQUIRE_MESSAGE(eventually([&] { return consumer.logged("cannot apply batch: "); }, 15s),
                        consumer.log());
        const auto [code, took] = stop_timed(consumer);
        CHECK_MESSAGE(code == 0, consumer.log());
        CHECK_MESSAGE(took < 2s, took.count(), " ms\n", consumer.log());
        CHECK_MESSAGE(consumer.logged("stopped; applied "), consumer.log());
        CHECK_MESSAGE(!consumer.logged("still failing"), consumer.log());
        writer.stop();
    }
    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    resume_and_verify(env);
}

TEST_CASE("SIGTERM while the source is down: the producer stops cleanly within 2 s") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer({"--retry-for", "120"});
    Program consumer = env.consumer();
    {
        BackgroundWriter writer(env.source_url(), steady_changes(), 20ms);
        REQUIRE_MESSAGE(eventually([&] { return rows_on(env.dest_url()) >= 20; }), env.logs());
        writer.stop();
        ClusterOutage outage(services().source);
        REQUIRE_MESSAGE(
            eventually([&] { return producer.logged("cannot connect to source"); }, 15s),
            producer.log());
        const auto [code, took] = stop_timed(producer);
        CHECK_MESSAGE(code == 0, producer.log());
        CHECK_MESSAGE(took < 2s, took.count(), " ms\n", producer.log());
        CHECK_MESSAGE(producer.logged("stopped; published "), producer.log());
        CHECK_MESSAGE(!producer.logged("still failing"), producer.log());
    }
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    resume_and_verify(env);
}

TEST_CASE("SIGTERM while the broker is down: the producer stops within 2 s, position unmoved") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer({"--retry-for", "120"});
    Program consumer = env.consumer(kQuickRejoin);
    BackgroundWriter writer(env.source_url(), steady_changes(), 20ms);
    REQUIRE_MESSAGE(eventually([&] { return rows_on(env.dest_url()) >= 20; }), env.logs());
    writer.stop();
    {
        BrokerOutage outage(services().broker);
        const std::string txid = insert_marker(env.source_url(), -1);
        // The producer holds a batch open waiting for Kafka, longer than a healthy broker
        // ever makes it wait.
        REQUIRE_MESSAGE(eventually([&] {
                            return query_value(env.source_url(),
                                               "SELECT count(*) FROM pg_stat_activity "
                                               "WHERE datname = current_database() AND state = "
                                               "'idle in transaction' AND state_change < now() - "
                                               "interval '1 second'") != "0";
                        }),
                        producer.log());
        const auto [code, took] = stop_timed(producer);
        CHECK_MESSAGE(code == 0, producer.log());
        CHECK_MESSAGE(took < 2s, took.count(), " ms\n", producer.log());
        CHECK_MESSAGE(producer.logged("stopped before Kafka confirmed the batch"), producer.log());
        CHECK_MESSAGE(producer.logged("stopped; published "), producer.log());
        CHECK(query_value(env.source_url(), position_covers(txid)) == "f");
    }
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    resume_and_verify(env);
}

TEST_CASE("destination down longer than --retry-for: exit 3 naming it and for how long") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer({"--retry-for", "3"});
    BackgroundWriter writer(env.source_url(), steady_changes(), 20ms);
    REQUIRE_MESSAGE(eventually([&] { return rows_on(env.dest_url()) >= 20; }), env.logs());
    {
        ClusterOutage outage(services().dest);
        const int code = consumer.wait(60s);
        CHECK_MESSAGE(code == 3, consumer.log());
        const std::string reason = last_line(consumer.err());
        CHECK_MESSAGE(reason.rfind("consumer: ", 0) == 0, reason);
        // What stayed unreachable (the destination, named by its masked URL or the batch that
        // could not be applied) and for how long.
        CHECK_MESSAGE((reason.find("cannot apply batch") != std::string::npos ||
                       reason.find("cannot connect to destination") != std::string::npos),
                      reason);
        CHECK_MESSAGE(reason.find("still failing after ") != std::string::npos, reason);
        CHECK_MESSAGE(reason.find("(--retry-for 3)") != std::string::npos, reason);
    }
    writer.stop();
    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    resume_and_verify(env);
}

TEST_CASE("broker lost mid-stream: the producer exits 3 within --retry-for, nothing skipped") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer({"--retry-for", "8"});
    Program consumer = env.consumer(kQuickRejoin);
    BackgroundWriter writer(env.source_url(), steady_changes(), 5ms);
    REQUIRE_MESSAGE(eventually([&] { return rows_on(env.dest_url()) >= 20; }), env.logs());
    {
        BrokerOutage outage(services().broker);
        const auto lost_at = Clock::now();
        // librdkafka's default would wait 300 s for each message's delivery report.
        const int code = producer.wait(40s);
        const auto took = Clock::now() - lost_at;
        CHECK_MESSAGE(code == 3, producer.log());
        CHECK_MESSAGE(took < 8s + 5s, producer.log());
        const std::string reason = last_line(producer.err());
        CHECK_MESSAGE(reason.find("batch not published: still failing after ") != std::string::npos,
                      reason);
        CHECK_MESSAGE(reason.find(env.topic()) != std::string::npos, reason);
        writer.stop();
    }
    // Every row the source holds is either in Kafka or still in cdc.log beyond the stored
    // position, where the next producer finds it.
    std::set<std::string> in_kafka;
    for (const auto& message : read_all_messages(env.brokers(), env.topic()))
        if (message.key) in_kafka.insert(*message.key);
    const auto waiting = query_column(
        env.source_url(),
        "SELECT DISTINCT l.after->>'id' FROM cdc.log l, cdc.producer_position p "
        "WHERE l.after IS NOT NULL AND NOT coalesce(pg_visible_in_snapshot(l.txid, p.snapshot), "
        "false)");
    std::set<std::string> still_logged;
    for (const auto& id : waiting) still_logged.insert(id);
    int64_t missing = 0;
    for (const auto& id : query_column(env.source_url(), "SELECT id::text FROM items")) {
        if (in_kafka.count("{\"id\":" + id + "}") == 0 && still_logged.count(id) == 0) ++missing;
    }
    CHECK_MESSAGE(missing == 0, missing, " rows neither in Kafka nor waiting in cdc.log");
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    resume_and_verify(env);
}

TEST_CASE("dead-letter topic missing or forbidden: exit 2 saying so, letters kept in the table") {
    struct Case {
        std::string what;
        rd_kafka_resp_err_t error;
        std::string said;
    };
    const Case cases[] = {
        {"missing", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "_dlq does not exist"},
        {"forbidden", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
         "_dlq cannot be used (Kafka topic "},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        TestEnv env;
        INFO(env.logs());
        exec(env.source_url(), kCreateItems);
        const auto setup = env.setup({"--table", kItems});
        REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
        BrokerRefusingTopic broker(env.topic(), env.dlq_topic(), c.error);
        // The good change comes first: the consumer may fetch the two in one batch or in two,
        // and either way the letter is in the batch that ends the run, with the offset
        // past both stored.
        produce_messages(broker.bootstraps(), env.topic(),
                         {{0, 0, "{\"id\":2}",
                           R"({"before":null,"after":{"id":2,"v":2,"note":"good"},"op":"c",)"
                           R"("ts_ms":1,"source":{"db":"x","schema":"public","table":"items",)"
                           R"("txId":1,"seq":1,"ts_us":1}})"},
                          {0, 0, "{\"id\":1}", "not json"}});
        Program consumer = env.start(
            kConsumer, {"--dest", env.dest_url(), "--brokers", broker.bootstraps(), "--topic",
                        env.topic(), "--group", env.group(), "--drain", "--retry-for", "20"});
        CHECK_MESSAGE(consumer.wait(60s) == 2, consumer.log());
        const std::string reason = last_line(consumer.err());
        CHECK_MESSAGE(reason.find("dead-letter topic " + env.topic() + c.said) != std::string::npos,
                      reason);
        CHECK_MESSAGE(reason.find("kept in cdc.dead_letters") != std::string::npos, reason);
        // The letter and the good change are both recorded with the offset past them.
        CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "1");
        CHECK(query_value(env.dest_url(),
                          "SELECT next_offset FROM cdc.consumer_offsets WHERE partition = 0") ==
              "2");
        CHECK(query_value(env.dest_url(), "SELECT note FROM items WHERE id = 2") == "good");
    }
}
