// A database or the broker goes away mid-stream or is not there at start: the programs wait
// (within --retry-for), never record progress they have not made, and continue.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "common/pqxx_compat.hpp"
#include "harness/background_writer.hpp"
#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
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

void stop_and_verify(TestEnv& env, BackgroundWriter& writer, Program& producer, Program& consumer) {
    writer.stop();
    const auto gap = wait_until_replicated(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(producer.running());
    CHECK(consumer.running());
    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
}

std::string last_line(std::string text) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    const auto start = text.rfind('\n');
    return start == std::string::npos ? text : text.substr(start + 1);
}

}  // namespace

TEST_CASE("destination down for 15 s: the consumer waits, resumes and loses nothing") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer({"--retry-for", "120"});
    BackgroundWriter writer(env.source_url(), steady_changes(), 20ms);
    REQUIRE_MESSAGE(eventually([&] { return rows_on(env.dest_url()) >= 20; }), env.logs());

    {
        ClusterOutage outage(services().dest);
        const auto down_since = Clock::now();
        const auto published_before = read_all_messages(env.brokers(), env.topic()).size();
        REQUIRE_MESSAGE(eventually([&] { return consumer.logged("cannot apply batch: "); }, 15s),
                        consumer.log());
        CHECK(consumer.logged("offsets not advanced, retrying for up to 120 s"));
        // The source side is unaffected: changes keep being published.
        REQUIRE_MESSAGE(eventually(
                            [&] {
                                return read_all_messages(env.brokers(), env.topic()).size() >=
                                       published_before + 100;
                            },
                            15s),
                        producer.log());
        std::this_thread::sleep_until(down_since + 15s);  // the outage lasts 15 s
        REQUIRE_MESSAGE(consumer.running(), consumer.log());
        outage.end();
    }
    REQUIRE_MESSAGE(
        eventually([&] { return consumer.logged("destination reachable again; batch applied"); },
                   60s),
        consumer.log());
    stop_and_verify(env, writer, producer, consumer);
}

TEST_CASE("source restarted: the producer reconnects and continues from its position") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer();
    BackgroundWriter writer(env.source_url(), steady_changes(), 20ms);
    REQUIRE_MESSAGE(eventually([&] { return rows_on(env.dest_url()) >= 20; }), env.logs());

    { ClusterOutage restart(services().source); }  // immediate shutdown, then start again
    const auto committed_at_restart = writer.committed();
    REQUIRE_MESSAGE(
        eventually([&] { return producer.logged("position not advanced, retrying"); }, 30s),
        producer.log());
    REQUIRE_MESSAGE(eventually([&] { return producer.logged("publishing again"); }, 60s),
                    producer.log());
    // The writer reconnected too, and what it writes now still arrives.
    REQUIRE_MESSAGE(eventually([&] { return writer.committed() >= committed_at_restart + 50; }),
                    writer.last_error());
    stop_and_verify(env, writer, producer, consumer);
}

TEST_CASE("broker down mid-stream: the producer keeps its position until Kafka confirms") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer(kQuickRejoin);
    BackgroundWriter writer(env.source_url(), steady_changes(), 20ms);
    REQUIRE_MESSAGE(eventually([&] { return rows_on(env.dest_url()) >= 20; }), env.logs());

    const std::string marker_logged =
        "SELECT count(*) FROM cdc.log WHERE relid = 'public.items'::regclass "
        "AND after->>'id' = '-1'";
    {
        BrokerOutage outage(services().broker);
        const auto down_since = Clock::now();
        // A change committed while the broker is down cannot have been delivered.
        std::string txid;
        {
            pqxx::connection conn(env.source_url());
            pqxx::work tx(conn);
            pgtrail::pq::exec0(tx, "INSERT INTO items VALUES (-1, 0, 'during the broker outage')");
            txid = pgtrail::pq::exec1(tx, "SELECT pg_current_xact_id()::text")[0].as<std::string>();
            tx.commit();
        }
        const std::string position_covers_marker =
            "SELECT coalesce(pg_visible_in_snapshot('" + txid +
            "'::xid8, snapshot), false) FROM cdc.producer_position";
        // For the whole outage the stored position never covers it and its log row stays.
        while (Clock::now() < down_since + 10s) {
            REQUIRE_MESSAGE(
                query_value(env.source_url(), position_covers_marker) == "f",
                (std::string("the position covers an undelivered change\n") + producer.log()));
            REQUIRE_MESSAGE(
                query_value(env.source_url(), marker_logged) == "1",
                (std::string("an undelivered change was pruned from cdc.log\n") + producer.log()));
            std::this_thread::sleep_for(200ms);  // watching an invariant for the outage's length
        }
        REQUIRE_MESSAGE(producer.running(), producer.log());
        outage.end();
    }
    REQUIRE_MESSAGE(
        eventually([&] { return query_value(env.source_url(), marker_logged) == "0"; }, 60s),
        producer.log());
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return query_value(env.dest_url(),
                                               "SELECT count(*) FROM items WHERE id = -1") == "1";
                        },
                        60s),
                    consumer.log());
    stop_and_verify(env, writer, producer, consumer);
}

TEST_CASE("broker down at start: producer and consumer wait for it, then replicate") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    exec(env.source_url(),
         "INSERT INTO items SELECT g, g, 'before start' FROM generate_series(1, 20) g");
    std::optional<BrokerOutage> outage(services().broker);
    Program producer = env.producer();
    Program consumer = env.consumer(kQuickRejoin);
    REQUIRE_MESSAGE(eventually([&] { return producer.logged("Kafka brokers unreachable"); }, 30s),
                    producer.log());
    REQUIRE_MESSAGE(eventually([&] { return consumer.logged("Kafka brokers unreachable"); }, 30s),
                    consumer.log());
    REQUIRE(producer.running());
    REQUIRE(consumer.running());
    outage.reset();
    BackgroundWriter writer(env.source_url(), [](pqxx::work& tx, int64_t n) {
        tx.exec("UPDATE items SET v = v + 1 WHERE id = " + std::to_string(n % 20 + 1));
        return n < 50;
    });
    REQUIRE_MESSAGE(eventually([&] { return writer.finished(); }), writer.last_error());
    stop_and_verify(env, writer, producer, consumer);
}

TEST_CASE("unreachable hosts at start: exit 3 after the retry period with a one-line reason") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    const std::string nowhere_db = "postgresql://postgres@127.0.0.1:1/x";
    const std::string nowhere_broker = "127.0.0.1:1";
    struct Case {
        const char* what;
        const char* program;
        std::string reason;  // what the one line must say
        Program run;
    };
    const auto started = Clock::now();
    // All at once: each spends its retry period, and the broker ones a metadata timeout too.
    Case cases[] = {
        {"source unreachable", "producer", "cannot connect to source",
         env.start(kProducer, {"--source", nowhere_db, "--brokers", env.brokers(), "--topic",
                               env.topic(), "--retry-for", "2"})},
        {"destination unreachable", "consumer", "cannot connect to destination",
         env.start(kConsumer, {"--dest", nowhere_db, "--brokers", env.brokers(), "--topic",
                               env.topic(), "--group", env.group(), "--retry-for", "2"})},
        {"broker unreachable (producer)", "producer", "Kafka brokers unreachable",
         env.start(kProducer, {"--source", env.source_url(), "--brokers", nowhere_broker, "--topic",
                               env.topic(), "--retry-for", "2"})},
        {"broker unreachable (consumer)", "consumer", "Kafka brokers unreachable",
         env.start(kConsumer, {"--dest", env.dest_url(), "--brokers", nowhere_broker, "--topic",
                               env.topic(), "--group", env.group(), "--retry-for", "2"})},
    };
    for (auto& c : cases) {
        INFO(c.what);
        const int code = c.run.wait(30s);
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        CHECK_MESSAGE(code == 3, c.run.log());
        CHECK_MESSAGE(took < 15s, c.run.log());
        const std::string reason = last_line(c.run.err());
        CHECK_MESSAGE(reason.rfind(std::string(c.program) + ": ", 0) == 0, c.run.log());
        CHECK_MESSAGE(reason.find(c.reason) != std::string::npos, c.run.log());
        // It retried before giving up rather than failing at the first refusal.
        CHECK_MESSAGE(c.run.logged("retrying for up to 2 s"), c.run.log());
    }
}

// Retention removed messages the consumer had not applied yet (the dev broker keeps about
// 5 MB per partition, as a real broker keeps its retention): the consumer must stop and say
// which messages are gone, never quietly restart from the log start.
TEST_CASE("messages expired before they were applied: the consumer stops and names them") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(), kCreateItems);
    const auto setup = env.setup({"--table", kItems});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.dest_url(),
         "INSERT INTO cdc.consumer_offsets (group_id, topic, partition, next_offset) VALUES ('" +
             env.group() + "', '" + env.topic() + "', 0, 1)");
    std::vector<KafkaMessage> filler;
    for (int i = 0; i < 100; ++i)
        filler.push_back({0, 0, "{\"id\":1}", std::string(100 * 1024, 'x')});
    produce_messages(env.brokers(), env.topic(), filler);

    Program consumer = env.consumer({"--drain", "--retry-for", "5"});
    CHECK_MESSAGE(consumer.wait(60s) == 3, consumer.log());
    const std::string reason = consumer.err().substr(consumer.err().rfind("consumer: "));
    CHECK_MESSAGE(reason.find("changes lost") != std::string::npos, reason);
    CHECK_MESSAGE(reason.find(env.topic() + " partition 0") != std::string::npos, reason);
    CHECK_MESSAGE(reason.find("offsets 1 to") != std::string::npos, reason);
    CHECK(query_value(env.dest_url(), "SELECT next_offset FROM cdc.consumer_offsets") == "1");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");
}
