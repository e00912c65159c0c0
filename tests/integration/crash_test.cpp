// kill -9 at random moments, and one enormous transaction: nothing lost, memory bounded.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/pqxx_compat.hpp"
#include "harness/background_writer.hpp"
#include "harness/eventually.hpp"
#include "harness/pipeline.hpp"
#include "harness/process_memory.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

constexpr int kSigkill = 128 + 9;

std::string seconds_since(std::chrono::steady_clock::time_point start) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

// The workload of the crash test, one transaction per entry: 100,000 changes in bulk
// transactions of 1,000 and in small ones, inserts, updates and deletes mixed.
std::vector<std::string> mixed_workload() {
    std::vector<std::string> transactions;
    auto first = [](int block) { return std::to_string(block * 1000 + 1); };
    auto last = [](int block) { return std::to_string(block * 1000 + 1000); };
    auto range = [&](int block) { return first(block) + " AND " + last(block); };
    for (int block = 0; block < 50; ++block) {  // 50,000 inserts
        transactions.push_back("INSERT INTO items SELECT g, 0, md5(g::text) FROM generate_series(" +
                               first(block) + ", " + last(block) + ") g");
        if (block >= 10 && block % 2 == 0) {  // 20 x 1,000 updates of earlier blocks
            transactions.push_back("UPDATE items SET v = v + 1, note = 'bulk' WHERE id BETWEEN " +
                                   range(block - 10));
        }
    }
    for (int block = 0; block < 10; ++block) {  // 10,000 more updates, 10,000 deletes
        transactions.push_back("UPDATE items SET v = v + 1 WHERE id BETWEEN " +
                               range(block * 2 + 1));
        transactions.push_back("DELETE FROM items WHERE id BETWEEN " + range(block * 3 + 20));
    }
    for (int i = 0; i < 2000; ++i) {  // 10,000 changes in small transactions
        const int id = 1 + (i * 7919) % 50000;
        const std::string fresh = std::to_string(100001 + 2 * i);
        transactions.push_back(
            "UPDATE items SET v = v + 1, note = 'small' WHERE id = " + std::to_string(id) + ";" +
            "INSERT INTO items VALUES (" + fresh + ", 0, 'fresh'), (" + fresh +
            " + 1, 0, 'fresh');" + "UPDATE items SET v = v + 1 WHERE id = " + fresh + ";" +
            "DELETE FROM items WHERE id = " + fresh + " + 1;" +
            "UPDATE items SET v = v + 1 WHERE id = " + std::to_string(1 + (i * 104729) % 50000));
    }
    return transactions;
}

// Set to a seed a failed run printed to kill at the same moments again.
constexpr const char* kSeedVariable = "PGTRAIL_CRASH_SEED";

std::uint32_t kill_moments_seed() {
    const char* replay = std::getenv(kSeedVariable);
    if (replay == nullptr || *replay == '\0') return std::random_device{}();
    return static_cast<std::uint32_t>(std::stoul(replay));
}

void crash_and_restart(std::string& figures) {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL, note text)",
                  "public.items");
    const auto started = std::chrono::steady_clock::now();
    const std::vector<std::string> workload = mixed_workload();
    // Some updates and deletes hit rows that are already gone; count what really happened.
    exec(env.source_url(),
         "CREATE TABLE public.changes (n bigint);"
         "CREATE FUNCTION public.count_changes() RETURNS trigger LANGUAGE plpgsql AS $$"
         " BEGIN INSERT INTO public.changes SELECT count(*) FROM affected; RETURN NULL; END $$;"
         "CREATE TRIGGER count_inserts AFTER INSERT ON public.items REFERENCING NEW TABLE AS "
         "affected FOR EACH STATEMENT EXECUTE FUNCTION public.count_changes();"
         "CREATE TRIGGER count_updates AFTER UPDATE ON public.items REFERENCING NEW TABLE AS "
         "affected FOR EACH STATEMENT EXECUTE FUNCTION public.count_changes();"
         "CREATE TRIGGER count_deletes AFTER DELETE ON public.items REFERENCING OLD TABLE AS "
         "affected FOR EACH STATEMENT EXECUTE FUNCTION public.count_changes();");

    std::optional<Program> producer(env.producer());
    std::optional<Program> consumer(env.consumer(kQuickRejoin));
    BackgroundWriter writer(
        env.source_url(),
        [&workload](pqxx::work& tx, int64_t n) {
            if (n >= static_cast<int64_t>(workload.size())) return false;
            tx.exec(workload[static_cast<std::size_t>(n)]);
            return true;
        },
        15ms);

    const std::uint32_t seed = kill_moments_seed();
    // Printed at once and attached to every failure, so a failing run can be replayed.
    const std::string replay = "kill moments from seed " + std::to_string(seed) +
                               " (replay: " + kSeedVariable + "=" + std::to_string(seed) + ")";
    MESSAGE(replay);
    INFO(replay);
    figures += "seed " + std::to_string(seed) + "; ";
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay_ms(200, 2000);
    std::string kills;
    for (int round = 0; round < 10; ++round) {
        const bool kill_producer = round % 2 == 0;
        std::optional<Program>& victim = kill_producer ? producer : consumer;
        // A consumer that has not joined the group yet has nothing to be killed in the middle
        // of; wait for its partitions before the random moment starts.
        if (!kill_producer) {
            REQUIRE_MESSAGE(
                eventually([&] { return assigned_partitions(*victim, env.topic()); }, 60s),
                victim->log());
        }
        REQUIRE_MESSAGE(victim->running(), victim->log());
        const int delay = delay_ms(rng);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));  // the random moment
        kills += std::string(kill_producer ? "producer" : "consumer") + " after " +
                 std::to_string(delay) + " ms" + (writer.finished() ? " (writer done)" : "") + ", ";
        REQUIRE(victim->kill() == kSigkill);
        if (kill_producer) {
            producer.emplace(env.producer());
        } else {
            consumer.emplace(env.consumer(kQuickRejoin));
        }
    }
    figures += "killed: " + kills;

    REQUIRE_MESSAGE(eventually([&] { return writer.finished(); }, 120s), writer.last_error());
    writer.stop();
    REQUIRE_MESSAGE(writer.failed() == 0, writer.last_error());
    const auto changes =
        std::stoll(query_value(env.source_url(), "SELECT sum(n) FROM public.changes"));
    figures += std::to_string(changes) + " changes in " + std::to_string(writer.committed()) +
               " transactions; ";
    REQUIRE(changes >= 100000);

    CHECK_MESSAGE(producer->stop() == 0, producer->log());
    CHECK_MESSAGE(consumer->stop() == 0, consumer->log());
    Program producer_drain = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer_drain.wait(120s) == 0, producer_drain.log());
    Program consumer_drain = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer_drain.wait(120s) == 0, consumer_drain.log());
    const auto verify = env.verify();
    REQUIRE_MESSAGE(verify.exit_code == 0, verify.log);
    // Producers killed between delivery and recording their position published again.
    const auto messages = std::stoll(query_value(
        env.dest_url(), "SELECT sum(next_offset) FROM cdc.consumer_offsets WHERE group_id = '" +
                            env.group() + "' AND topic = '" + env.topic() + "'"));
    figures += "the topic holds " + std::to_string(messages) + " messages; ";
    CHECK(messages >= changes);
    // No row older than its source: every value equal, not only the keys.
    const auto gap = wait_until_replicated(env, "public.items", 0s);
    CHECK_MESSAGE(gap.empty(), gap);
    figures += "took " + seconds_since(started);
}

void one_million_rows(std::string& figures) {
    // The dev broker keeps about 5 MB per partition; 24 partitions hold the whole transaction
    // even if the consumer falls behind.
    TestEnv env(24);
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.big (id int PRIMARY KEY, h text NOT NULL)",
                  "public.big");
    Program producer = env.producer();
    Program consumer = env.consumer();

    const auto started = std::chrono::steady_clock::now();
    std::string txid;
    {
        pqxx::connection conn(env.source_url());
        pqxx::work tx(conn);
        pgtrail::pq::exec0(
            tx, "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000000) g");
        txid = pgtrail::pq::exec1(tx, "SELECT pg_current_xact_id()::text")[0].as<std::string>();
        tx.commit();
    }
    figures += "the source transaction took " + seconds_since(started) + "; ";

    // Published once the producer's stored position covers the transaction.
    const std::string published = "SELECT coalesce(pg_visible_in_snapshot('" + txid +
                                  "'::xid8, snapshot), false) FROM cdc.producer_position";
    REQUIRE_MESSAGE(
        eventually([&] { return query_value(env.source_url(), published) == "t"; }, 180s),
        producer.log());
    figures += "published " + seconds_since(started) + " after it began; ";
    const std::string applied_offsets =
        "SELECT coalesce(sum(next_offset), 0) FROM cdc.consumer_offsets WHERE group_id = '" +
        env.group() + "' AND topic = '" + env.topic() + "'";
    REQUIRE_MESSAGE(
        eventually(
            [&] { return std::stoll(query_value(env.dest_url(), applied_offsets)) >= 1000000; },
            180s),
        consumer.log());
    figures += "applied " + seconds_since(started) + " after it began; ";

    REQUIRE(producer.running());
    REQUIRE(consumer.running());
    const int64_t producer_peak = peak_rss_bytes(producer.pid());
    const int64_t consumer_peak = peak_rss_bytes(consumer.pid());
    figures += "peak RSS: producer " + std::to_string(producer_peak / (1024 * 1024)) +
               " MiB, consumer " + std::to_string(consumer_peak / (1024 * 1024)) + " MiB; ";
    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());

    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM big") == "1000000");
    const auto verify = env.verify({}, 120s);
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    constexpr int64_t kLimit = 200LL * 1000 * 1000;  // 200 MB
    CHECK(producer_peak < kLimit);
    CHECK(consumer_peak < kLimit);
    figures += "took " + seconds_since(started);
}

}  // namespace

TEST_CASE("producer and consumer killed 5 times each during 100k changes lose nothing") {
    std::string figures;
    crash_and_restart(figures);
    MESSAGE(figures);
}

TEST_CASE("a single transaction of 1,000,000 rows replicates with bounded memory") {
    std::string figures;
    one_million_rows(figures);
    MESSAGE(figures);
}
