// The consumer as a member of a Kafka consumer group: a member that lost its partitions
// while paused commits nothing for them, stored offsets never move backwards, only the eager
// rebalance protocol is accepted, and the group's progress is visible to Kafka's tools.
#include <doctest/doctest.h>
#include <signal.h>

#include <pqxx/pqxx>
#include <string>

#include "common/pqxx_compat.hpp"
#include "harness/eventually.hpp"
#include "harness/group_offsets.hpp"
#include "harness/pipeline.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

const std::string kItems = "public.items";
const std::string kCreateItems = "CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL)";

// Every write of a stored offset, with the destination session that made it.
const std::string kOffsetHistory = R"sql(
CREATE TABLE public.offset_history (
    partition  integer,
    old_offset bigint,
    new_offset bigint,
    pid        integer,
    at         timestamptz DEFAULT clock_timestamp()
);
CREATE FUNCTION public.record_offset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.offset_history (partition, old_offset, new_offset, pid)
    VALUES (NEW.partition, CASE WHEN TG_OP = 'UPDATE' THEN OLD.next_offset END,
            NEW.next_offset, pg_backend_pid());
    RETURN NEW;
END
$$;
CREATE TRIGGER record_offset AFTER INSERT OR UPDATE ON cdc.consumer_offsets
    FOR EACH ROW EXECUTE FUNCTION public.record_offset();
)sql";

// A member that misses heartbeats for 3 s is out of the group.
const Args kShortSession = {"-X", "session.timeout.ms=3000",  "-X", "heartbeat.interval.ms=500",
                            "-X", "max.poll.interval.ms=4000"};

std::string stored_offsets(const TestEnv& env) {
    return query_value(env.dest_url(),
                       "SELECT coalesce(string_agg(partition || ':' || next_offset, ',' ORDER BY "
                       "partition), '') FROM cdc.consumer_offsets");
}

}  // namespace

TEST_CASE("a consumer paused past its session commits nothing for the partitions it lost") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    exec(env.dest_url(), kOffsetHistory);
    Program producer = env.producer();
    Program paused = env.consumer(kShortSession);
    exec(env.source_url(), "INSERT INTO items SELECT i, 0 FROM generate_series(1, 300) i");
    auto gap = wait_until_replicated(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);

    // The next batch waits on the destination until the member is paused in the middle of it.
    pqxx::connection blocker(env.dest_url());
    pqxx::work lock(blocker);
    const std::string blocker_pid =
        pgtrail::pq::exec1(lock, "SELECT pg_backend_pid()")[0].as<std::string>();
    pgtrail::pq::exec0(lock, "LOCK TABLE items IN SHARE MODE");
    exec(env.source_url(), "UPDATE items SET v = 1");
    const std::string waiting =
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'items'::regclass";
    REQUIRE_MESSAGE(eventually([&] { return query_value(env.dest_url(), waiting) != "0"; }, 30s),
                    paused.log());
    const std::string paused_pids = query_value(
        env.dest_url(),
        "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = "
        "current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "AND pid <> " +
            blocker_pid);
    REQUIRE(::kill(paused.pid(), SIGSTOP) == 0);
    const std::string paused_at = query_value(env.dest_url(), "SELECT clock_timestamp()::text");

    // Another member takes the partitions over once the paused one's session has ended.
    Program successor = env.consumer(kShortSession);
    REQUIRE_MESSAGE(eventually([&] { return assigned_partitions(successor, env.topic()); }, 60s),
                    successor.log());
    lock.commit();
    REQUIRE(::kill(paused.pid(), SIGCONT) == 0);
    REQUIRE_MESSAGE(
        eventually([&] { return paused.logged("were claimed by another member"); }, 60s),
        paused.log());
    const std::string fenced_at = query_value(env.dest_url(), "SELECT clock_timestamp()::text");
    CHECK_MESSAGE(
        query_value(env.dest_url(), "SELECT count(*) FROM public.offset_history WHERE pid IN (" +
                                        paused_pids + ") AND at BETWEEN '" + paused_at + "' AND '" +
                                        fenced_at + "'") == "0",
        "the paused member stored offsets for partitions it had lost");

    // Both members go on; nothing is lost, nothing applied twice in effect.
    exec(env.source_url(), "UPDATE items SET v = v + 1 WHERE id % 3 = 0");
    exec(env.source_url(), "DELETE FROM items WHERE id % 7 = 0");
    gap = wait_until_replicated(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(),
                      "SELECT count(*) FROM public.offset_history WHERE old_offset >= "
                      "new_offset") == "0");
    CHECK(paused.running());
    CHECK(successor.running());
    CHECK(producer.stop() == 0);
    CHECK(paused.stop() == 0);
    CHECK(successor.stop() == 0);
    require_verified(env);
}

TEST_CASE("the cooperative rebalance protocol is refused at start") {
    TestEnv env;
    capture_table(env, kCreateItems, kItems);
    Program consumer = env.consumer({"-X", "partition.assignment.strategy=cooperative-sticky"});
    CHECK(consumer.wait(30s) == 2);
    CHECK_MESSAGE(
        consumer.err().find("cooperative rebalance protocol is not supported") != std::string::npos,
        consumer.log());
}

TEST_CASE("the group's offsets in Kafka follow the destination's, for Kafka's tools to show") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateItems, kItems);
    Program producer = env.producer();
    Program consumer = env.consumer();
    exec(env.source_url(), "INSERT INTO items SELECT i, 0 FROM generate_series(1, 500) i");
    const auto gap = wait_until_replicated(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    const std::string stored = stored_offsets(env);
    const auto in_kafka = [&] {
        std::string out;
        for (const auto& [partition, offset] :
             group_committed_offsets(env.brokers(), env.group(), env.topic(), 3))
            out +=
                (out.empty() ? "" : ",") + std::to_string(partition) + ":" + std::to_string(offset);
        return out;
    };
    CHECK_MESSAGE(eventually([&] { return in_kafka() == stored; }, 30s),
                  "Kafka: " << in_kafka() << ", destination: " << stored);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("a destination set up before partition claims: the consumer asks for db_setup") {
    TestEnv env;
    capture_table(env, kCreateItems, kItems);
    exec(env.dest_url(), "DROP TABLE cdc.consumer_claims");
    Program refused = env.consumer();
    CHECK(refused.wait(60s) == 2);
    CHECK_MESSAGE(refused.err().find("run db_setup again") != std::string::npos, refused.log());
    const auto setup = env.setup({"--table", kItems});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    CHECK(query_value(env.dest_url(), "SELECT to_regclass('cdc.consumer_claims') IS NOT NULL") ==
          "t");
}
