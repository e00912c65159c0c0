// Many writers at once: transactions commit in a different order than they wrote the log,
// rows are fought over, two producers start on one source, consumers join and leave a group.
// Nothing may be lost and no row may end older than its source.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/pqxx_compat.hpp"
#include "harness/background_writer.hpp"
#include "harness/eventually.hpp"
#include "harness/items_table.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pgbench.hpp"
#include "harness/pipeline.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

int64_t source_seq(const std::string& value) {
    // The envelope's source object comes last, so the last "seq" member is source.seq even
    // if a row had a column of that name.
    const auto at = value.rfind("\"seq\":");
    if (at == std::string::npos) throw std::runtime_error("no source.seq in " + value);
    return std::stoll(value.substr(at + 6));
}

// Messages whose source.seq is below one published before them in the same partition: a
// transaction that committed after a later-sequenced one was already published. A producer
// that polls seq > last would have skipped exactly these.
int late_commits(const std::vector<KafkaMessage>& messages) {
    std::map<int32_t, int64_t> highest;
    int late = 0;
    for (const auto& m : messages) {
        if (!m.value) continue;
        const int64_t seq = source_seq(*m.value);
        auto [it, fresh] = highest.emplace(m.partition, seq);
        if (fresh) continue;
        if (seq < it->second) ++late;
        it->second = std::max(it->second, seq);
    }
    return late;
}

}  // namespace

TEST_CASE("a transaction that commits after a later one was published still arrives") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);

    // A writes first, so it holds the lower seq, and stays open.
    pqxx::connection conn_a(env.source_url());
    pqxx::work tx_a(conn_a);
    tx_a.exec("INSERT INTO items VALUES (1, 1, 'written first, committed last')");
    const int64_t seq_a = pgtrail::pq::exec1(tx_a, "SELECT max(seq) FROM cdc.log")[0].as<int64_t>();
    // B writes after A and commits while A is still open.
    exec(env.source_url(), "INSERT INTO items VALUES (2, 2, 'written second, committed first')");
    const int64_t seq_b = std::stoll(query_value(env.source_url(), "SELECT max(seq) FROM cdc.log"));
    REQUIRE(seq_a < seq_b);

    Program first = env.producer({"--drain"});
    REQUIRE_MESSAGE(first.wait(60s) == 0, first.log());
    const auto published = read_all_messages(env.brokers(), env.topic());
    REQUIRE(published.size() == 1);
    REQUIRE(source_seq(*published.front().value) == seq_b);

    tx_a.commit();
    Program second = env.producer({"--drain"});
    REQUIRE_MESSAGE(second.wait(60s) == 0, second.log());
    CHECK(read_all_messages(env.brokers(), env.topic()).size() == 2);
    Program consumer = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());

    CHECK(query_value(env.dest_url(), "SELECT string_agg(id::text, ',' ORDER BY id) FROM items") ==
          "1,2");
    const auto gap = wait_until_replicated(env, kItems, 0s);
    CHECK_MESSAGE(gap.empty(), gap);
    require_verified(env);
}

void random_workload(std::string& figures) {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer();

    // Each transaction touches two random rows in ascending id order (no deadlocks) and
    // sleeps between them, so commit order keeps differing from the order of the log.
    const std::string script = R"(\set a random(1, 2000)
\set b random(1, 2000)
\set lo least(:a, :b)
\set hi greatest(:a, :b)
\set op random(1, 4)
\set pause random(0, 40)
BEGIN;
INSERT INTO items (id, v, note) VALUES (:lo, 1, 'new ' || :client_id)
  ON CONFLICT (id) DO UPDATE SET v = items.v + 1, note = 'bumped by ' || :client_id;
\sleep :pause ms
\if :op = 1
DELETE FROM items WHERE id = :hi;
\else
UPDATE items SET v = v + 10, note = 'updated by ' || :client_id WHERE id = :hi;
\endif
COMMIT;
)";
    Program pgbench = start_pgbench(env, env.source_url(), script,
                                    {"-c", "8", "-j", "2", "-T", "20", "--max-tries", "10"});
    REQUIRE_MESSAGE(pgbench.wait(90s) == 0, pgbench.log());
    const int64_t transactions = pgbench_transactions(pgbench);
    figures += "pgbench committed " + std::to_string(transactions) + " transactions (" +
               std::to_string(pgbench_failures(pgbench)) + " failed after retries); ";
    REQUIRE(transactions > 1000);

    const auto gap = wait_until_replicated(env, kItems, 90s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(producer.running());
    CHECK(consumer.running());
    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    require_verified(env);

    // The workload really produced late commits, and the producer published them.
    const int late = late_commits(read_all_messages(env.brokers(), env.topic()));
    figures += std::to_string(late) + " changes were published after a change with a higher seq";
    CHECK(late > 0);
}

TEST_CASE("8 sessions inserting, updating and deleting with pauses inside transactions") {
    std::string figures;
    random_workload(figures);
    MESSAGE(figures);
}

void same_rows_workload(std::string& figures) {
    TestEnv env;
    INFO(env.logs());
    capture_table(env,
                  "CREATE TABLE public.hot (id int PRIMARY KEY, v int NOT NULL, last_writer int)",
                  "public.hot");
    Program producer = env.producer();
    Program consumer = env.consumer();
    exec(env.source_url(), "INSERT INTO hot SELECT g, 0, NULL FROM generate_series(1, 10) g");

    const std::string script = R"(\set a random(1, 10)
\set b random(1, 10)
\set lo least(:a, :b)
\set hi greatest(:a, :b)
\set pause random(0, 20)
BEGIN;
UPDATE hot SET v = v + 1, last_writer = :client_id WHERE id = :lo;
\sleep :pause ms
UPDATE hot SET v = v + 1, last_writer = :client_id WHERE id = :hi;
COMMIT;
)";
    Program pgbench = start_pgbench(env, env.source_url(), script,
                                    {"-c", "8", "-j", "2", "-T", "8", "--max-tries", "10"});
    REQUIRE_MESSAGE(pgbench.wait(60s) == 0, pgbench.log());
    const int64_t transactions = pgbench_transactions(pgbench);
    figures += "pgbench committed " + std::to_string(transactions) + " transactions on 10 rows";
    REQUIRE(transactions > 200);
    // Every committed transaction added 2 to the sum.
    REQUIRE(query_value(env.source_url(), "SELECT sum(v) FROM hot") ==
            std::to_string(2 * transactions));

    const auto gap = wait_until_replicated(env, "public.hot", 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), "SELECT sum(v) FROM hot") ==
          std::to_string(2 * transactions));
    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    require_verified(env);
}

TEST_CASE("8 sessions updating the same 10 rows: each row ends in its last committed state") {
    std::string figures;
    same_rows_workload(figures);
    MESSAGE(figures);
}

TEST_CASE("a second producer on the same source waits and takes over when the first dies") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program consumer = env.consumer();

    // A progress line every second: a producer that publishes anything says so within one.
    const Args every_second = {"--log-interval", "1"};
    Program first = env.producer(every_second);
    exec(env.source_url(), "INSERT INTO items VALUES (1, 1, 'published by the first')");
    REQUIRE_MESSAGE(eventually([&] { return first.logged("published 1 changes"); }), first.log());

    Program second = env.producer(every_second);
    REQUIRE_MESSAGE(eventually([&] {
                        return second.logged(
                            "another producer is publishing this source; waiting to take over");
                    }),
                    second.log());
    // Many small transactions, so a second producer that also published would have a batch
    // of its own many times over.
    for (int id = 2; id <= 50; ++id)
        exec(env.source_url(), "INSERT INTO items VALUES (" + std::to_string(id) + ", " +
                                   std::to_string(id) + ", 'while both run')");
    exec(env.source_url(), "UPDATE items SET v = v + 100 WHERE id <= 10");
    auto gap = wait_until_replicated(env, kItems);
    REQUIRE_MESSAGE(gap.empty(), gap);
    // Only the first one published: it reports all 60 changes, and for two progress
    // intervals after that the second still has published nothing.
    REQUIRE_MESSAGE(eventually([&] { return first.logged(", 60 in total"); }), first.log());
    const auto watched_until = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < watched_until) {
        REQUIRE_MESSAGE(!second.logged("published"), second.log());
        std::this_thread::sleep_for(50ms);  // watching an invariant for two progress intervals
    }
    CHECK(second.running());

    CHECK(first.kill() == 128 + 9);
    REQUIRE_MESSAGE(eventually([&] { return second.logged("took over as the source's producer"); }),
                    second.log());
    exec(env.source_url(),
         "INSERT INTO items SELECT g, g, 'after the takeover' FROM generate_series(51, 80) g;"
         "UPDATE items SET note = 'changed after the takeover' WHERE id % 3 = 0;"
         "DELETE FROM items WHERE id % 7 = 0");
    gap = wait_until_replicated(env, kItems);
    REQUIRE_MESSAGE(gap.empty(), gap);
    // Progress lines come once per --log-interval (10 s), not per batch.
    CHECK_MESSAGE(eventually([&] { return second.logged("published"); }), second.log());

    CHECK_MESSAGE(second.stop() == 0, second.log());
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    require_verified(env);
}

void rebalance_workload(std::string& figures) {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    // Every change of a row raises v, so a row whose v goes down on the destination had an
    // older change applied over a newer one. The trigger records that; pgtrail's consumer
    // runs triggers like any client (SECURITY DEFINER: whatever role the consumer runs as).
    exec(env.dest_url(), R"sql(
CREATE TABLE public.backwards (id int, old_v int, new_v int);
CREATE FUNCTION public.note_backwards() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO public.backwards VALUES (OLD.id, OLD.v, NEW.v);
    RETURN NEW;
END $$;
CREATE TRIGGER items_backwards BEFORE UPDATE ON public.items
    FOR EACH ROW WHEN (NEW.v < OLD.v) EXECUTE FUNCTION public.note_backwards();
)sql");

    Program producer = env.producer();
    Program first = env.consumer(kQuickRejoin);
    // New rows get new ids, existing rows only ever go up, and some are deleted for good.
    std::mt19937 rng(std::random_device{}());
    BackgroundWriter writer(
        env.source_url(),
        [&rng](pqxx::work& tx, int64_t n) {
            const std::string id = std::to_string(n + 1);
            tx.exec("INSERT INTO items VALUES (" + id + ", 0, 'new')");
            for (int i = 0; i < 3; ++i) {
                const auto other = std::uniform_int_distribution<int64_t>(1, n + 1)(rng);
                tx.exec("UPDATE items SET v = v + 1, note = 'round " + std::to_string(n) +
                        "' WHERE id = " + std::to_string(other));
            }
            if (n % 10 == 9) {
                const auto victim = std::uniform_int_distribution<int64_t>(1, n + 1)(rng);
                tx.exec("DELETE FROM items WHERE id = " + std::to_string(victim));
            }
            return true;
        },
        5ms);
    const auto applied = [&] {
        return std::stoll(query_value(env.dest_url(), "SELECT count(*) FROM items"));
    };
    REQUIRE_MESSAGE(eventually([&] { return applied() >= 50; }), env.logs());

    Program second = env.consumer(kQuickRejoin);
    // Both members hold partitions: the first has been assigned twice (alone, then shared).
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return times_logged(first, "assigned partitions") >= 2 &&
                                   assigned_partitions(second, env.topic());
                        },
                        60s),
                    env.logs());
    int64_t mark = applied();
    REQUIRE_MESSAGE(eventually([&] { return applied() >= mark + 100; }), env.logs());

    CHECK_MESSAGE(second.stop() == 0, second.log());
    REQUIRE_MESSAGE(
        eventually([&] { return times_logged(first, "assigned partitions") >= 3; }, 60s),
        first.log());
    mark = applied();
    REQUIRE_MESSAGE(eventually([&] { return applied() >= mark + 100; }), env.logs());

    writer.stop();
    figures += "writer committed " + std::to_string(writer.committed()) + " transactions";
    REQUIRE(writer.failed() == 0);
    const auto gap = wait_until_replicated(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM public.backwards") == "0");
    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    CHECK_MESSAGE(first.stop() == 0, first.log());
    require_verified(env);
}

TEST_CASE("a consumer joining and leaving the group loses nothing and applies no row backwards") {
    std::string figures;
    rebalance_workload(figures);
    MESSAGE(figures);
}
