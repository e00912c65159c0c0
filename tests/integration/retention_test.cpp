// What keeps the footprint bounded: the producer prunes published log rows (and never an
// unpublished one), the consumer prunes tombstones older than --tombstone-retention.
#include <doctest/doctest.h>

#include <pqxx/pqxx>
#include <string>

#include "common/pqxx_compat.hpp"
#include "harness/background_writer.hpp"
#include "harness/crafted_change.hpp"
#include "harness/eventually.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

const std::string kItems = "public.items";
const std::string kCreateItems =
    "CREATE TABLE public.items (id bigint PRIMARY KEY, v int NOT NULL DEFAULT 0)";

std::int64_t log_rows(const TestEnv& env) {
    return std::stoll(query_value(env.source_url(), "SELECT count(*) FROM cdc.log"));
}

std::int64_t tombstones(const TestEnv& env) {
    return std::stoll(query_value(env.dest_url(), "SELECT count(*) FROM cdc.tombstones"));
}

}  // namespace

TEST_CASE("a large published batch leaves cdc.log empty") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    // Several times the pruner's chunk, in one transaction: one snapshot batch.
    exec(env.source_url(), "INSERT INTO items (id) SELECT i FROM generate_series(1, 23000) i");
    REQUIRE(log_rows(env) == 23000);
    const std::string txid = query_value(env.source_url(), "SELECT max(txid)::text FROM cdc.log");

    Program producer = env.producer();
    Program consumer = env.consumer();
    REQUIRE_MESSAGE(eventually([&] { return log_rows(env) == 0; }, 60s),
                    "cdc.log still holds " << log_rows(env) << " rows");
    const auto gap = wait_until_replicated(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    // The position covers the batch, so its rows were published when they were deleted.
    CHECK(query_value(env.source_url(), "SELECT pg_visible_in_snapshot('" + txid +
                                            "'::xid8, snapshot) FROM cdc.producer_position") ==
          "t");
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

// cdc.log's statistics are stale by nature: analyzed while nearly empty, then one transaction
// adds a backlog. Neither publishing nor pruning may depend on them: pages and chunks walk the
// key from where the last one ended, so the backlog's rows are each read a few times at most.
// Planned from the stale statistics, every page and chunk read and sorted all rows above it.
TEST_CASE("pruning a backlog reads the log about once, whatever its statistics say") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    exec(env.source_url(), "ANALYZE cdc.log");
    exec(env.source_url(), "ALTER TABLE cdc.log SET (autovacuum_enabled = false)");
    constexpr std::int64_t kRows = 60000;  // twelve of the pruner's chunks
    exec(env.source_url(), "INSERT INTO items (id) SELECT i FROM generate_series(1, " +
                               std::to_string(kRows) + ") i");
    exec(env.source_url(), "SELECT pg_stat_reset_single_table_counters('cdc.log'::regclass)");

    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(120s) == 0, producer.log());
    CHECK(log_rows(env) == 0);
    // A backend's counters reach the statistics when it ends, shortly after the producer did.
    const std::string read =
        "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
        "FROM pg_stat_user_tables WHERE relid = 'cdc.log'::regclass";
    const std::string deleted =
        "SELECT n_tup_del FROM pg_stat_user_tables WHERE relid = 'cdc.log'::regclass";
    REQUIRE(eventually([&] { return std::stoll(query_value(env.source_url(), deleted)) == kRows; },
                       30s));
    // Publishing reads the rows once (and counts them once for --drain's progress), pruning
    // once to choose each chunk and once to delete it: about 4 reads per row, and far more
    // if any chunk scanned the log.
    const std::int64_t rows_read = std::stoll(query_value(env.source_url(), read));
    CHECK_MESSAGE(rows_read <= 5 * kRows, rows_read, " log rows read to publish and prune ", kRows);
    Program consumer = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer.wait(120s) == 0, consumer.log());
    const auto gap = wait_until_replicated(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
}

TEST_CASE("a change committed after others were published and pruned is kept and replicated") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer();

    // A steady stream of small transactions, some pausing between their two writes, so
    // changes keep committing while the producer publishes and prunes.
    BackgroundWriter writer(
        env.source_url(),
        [](pqxx::work& tx, std::int64_t n) {
            tx.exec("INSERT INTO items (id) VALUES (" + std::to_string(n * 2 + 1) + ")");
            if (n % 3 == 0) std::this_thread::sleep_for(2ms);
            tx.exec("INSERT INTO items (id) VALUES (" + std::to_string(n * 2 + 2) + ")");
            return true;
        },
        1ms);

    for (int late = 1; late <= 3; ++late) {
        // Takes its log position now and commits only after later changes were published
        // and their rows pruned.
        pqxx::connection conn(env.source_url());
        pqxx::work tx(conn);
        tx.exec("INSERT INTO items (id) VALUES (" + std::to_string(-late) + ")");
        const std::string txid =
            pgtrail::pq::exec1(tx, "SELECT pg_current_xact_id()::text")[0].as<std::string>();
        const auto written_before =
            pgtrail::pq::exec1(tx, "SELECT coalesce(max(id), 0) FROM items")[0].as<std::int64_t>();
        // The position covers transactions that started after this one, and nothing it
        // covers is left in the log.
        const std::string published_and_pruned_past_it =
            "SELECT pg_snapshot_xmax(snapshot) > '" + txid +
            "'::xid8 AND NOT EXISTS (SELECT 1 FROM cdc.log WHERE "
            "pg_visible_in_snapshot(txid, snapshot)) FROM cdc.producer_position";
        const std::string replicated_later_writes =
            "SELECT coalesce(max(id), 0) > " + std::to_string(written_before + 40) + " FROM items";
        REQUIRE_MESSAGE(eventually([&] {
                            return query_value(env.dest_url(), replicated_later_writes) == "t" &&
                                   query_value(env.source_url(), published_and_pruned_past_it) ==
                                       "t";
                        }),
                        "the producer did not publish and prune past the open transaction");
        tx.commit();
    }
    REQUIRE(eventually([&] { return writer.committed() > 500; }, 60s));
    writer.stop();
    INFO("writer: ", writer.committed(), " committed, ", writer.failed(), " failed");

    const auto gap = wait_until_replicated(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items WHERE id < 0") == "3");
    CHECK(eventually([&] { return log_rows(env) == 0; }));
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
    CHECK(env.verify().exit_code == 0);
}

TEST_CASE("with --tombstone-retention 1s a tombstone disappears and replication goes on") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer({"--tombstone-retention", "1s"});

    exec(env.source_url(), "INSERT INTO items (id, v) VALUES (1, 1), (2, 2), (3, 3)");
    exec(env.source_url(), "DELETE FROM items WHERE id IN (1, 2)");
    auto gap = wait_until_replicated(env, kItems);
    REQUIRE_MESSAGE(gap.empty(), gap);
    REQUIRE_MESSAGE(eventually([&] { return tombstones(env) == 0; }), tombstones(env)
                                                                          << " tombstones remain");
    // The two deletes may reach different apply transactions, hence prunes.
    CHECK(consumer.logged("tombstones older than the retention"));

    // Pruned means no longer guarding: an insert of key 1 older than its delete, delivered
    // now, brings the row back (the limit README states); the tombstone would have refused it.
    produce_messages(env.brokers(), env.topic(),
                     {crafted_message(env.source_db(), {"items", 'c', "{\"id\":1}", std::nullopt,
                                                        "{\"id\":1,\"v\":99}", 1, 1})});
    const std::string row_1 = "SELECT coalesce(max(v), -1) FROM items WHERE id = 1";
    CHECK_MESSAGE(eventually([&] { return query_value(env.dest_url(), row_1) == "99"; }),
                  "an older insert of a pruned key stayed out: the tombstone still guards it");

    // The keys are free on the source too: new rows with them, changed and deleted, replicate
    // (row 1 with its newer insert).
    exec(env.source_url(), "INSERT INTO items (id, v) VALUES (1, 10), (2, 20)");
    exec(env.source_url(), "UPDATE items SET v = v + 1");
    exec(env.source_url(), "DELETE FROM items WHERE id = 3");
    gap = wait_until_replicated(env, kItems);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(),
                      "SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM "
                      "items") == "1:11,2:21");
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("with the default retention of 7 days only tombstones older than that are pruned") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    {
        Program consumer = env.consumer();
        exec(env.source_url(), "INSERT INTO items (id) VALUES (1), (2), (3)");
        exec(env.source_url(), "DELETE FROM items WHERE id IN (1, 2, 3)");
        REQUIRE(eventually([&] { return tombstones(env) == 3; }));
        CHECK(consumer.stop() == 0);
    }
    // Written 8 days, 6 days and a moment ago, as the consumer sees them at its next start.
    exec(env.dest_url(),
         "UPDATE cdc.tombstones SET written_at = now() - interval '8 days' WHERE pk = "
         "'{\"id\":1}';"
         "UPDATE cdc.tombstones SET written_at = now() - interval '6 days' WHERE pk = "
         "'{\"id\":2}'");
    Program consumer = env.consumer();
    const std::string left = "SELECT string_agg(pk, ',' ORDER BY pk) FROM cdc.tombstones";
    REQUIRE_MESSAGE(eventually([&] { return tombstones(env) == 2; }),
                    query_value(env.dest_url(), left));
    CHECK(query_value(env.dest_url(), left) == "{\"id\":2},{\"id\":3}");
    CHECK(consumer.logged("pruned 1 tombstones"));
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("a destination set up before tombstone retention: the consumer asks for db_setup") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    exec(env.dest_url(), "ALTER TABLE cdc.tombstones DROP COLUMN written_at");
    Program refused = env.consumer();
    CHECK(refused.wait(60s) == 2);
    CHECK(refused.err().find("run db_setup again") != std::string::npos);

    const auto setup = env.setup({"--table", kItems});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    Program producer = env.producer();
    Program consumer = env.consumer();
    exec(env.source_url(),
         "INSERT INTO items (id) VALUES (1), (2); DELETE FROM items WHERE id = 1");
    const auto gap = wait_until_replicated(env, kItems);
    REQUIRE_MESSAGE(gap.empty(), gap);
    // Row 2 alone can match the source before row 1's insert and delete arrive on their own
    // partition, so the tombstone is awaited, not read once.
    CHECK(eventually([&] { return tombstones(env) == 1; }));
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("a bad --tombstone-retention is a usage error") {
    TestEnv env;
    for (const char* bad : {"soon", "0", "-1d", "7w"}) {
        Program consumer = env.consumer({"--tombstone-retention", bad});
        CHECK(consumer.wait(30s) == 2);
        CHECK(consumer.err().find("tombstone-retention") != std::string::npos);
    }
}
