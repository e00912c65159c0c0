// db_verify --status is what an operator reads to see whether replication keeps up: lag per
// partition must be zero once everything is applied and grow while the consumer is away.
#include <doctest/doctest.h>

#include <chrono>

#include "harness/eventually.hpp"
#include "harness/pipeline.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;

namespace {

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
    return count;
}

}  // namespace

TEST_CASE("db_verify --status shows lag per partition and the newest applied change") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id int PRIMARY KEY, name text)", "public.items");
    const Args status = {"--status",  "--brokers", env.brokers(), "--topic",
                         env.topic(), "--group",   env.group()};

    Program producer = env.producer();
    Program consumer = env.consumer();
    exec(env.source_url(),
         "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 30) g");
    const std::string gap = wait_until_replicated(env, "public.items");
    REQUIRE_MESSAGE(gap.empty(), gap);

    const auto caught_up = env.verify(status);
    CHECK_MESSAGE(caught_up.exit_code == 0, caught_up.log);
    CHECK_MESSAGE(occurrences(caught_up.out, ", lag 0\n") == 3, caught_up.log);
    CHECK_MESSAGE(occurrences(caught_up.out, "total lag 0\n") == 1, caught_up.log);
    CHECK_MESSAGE(occurrences(caught_up.out, "0 changes waiting in cdc.log") == 1, caught_up.log);
    CHECK_MESSAGE(occurrences(caught_up.out, "dead letters: 0\n") == 1, caught_up.log);
    const std::string newest = query_value(
        env.dest_url(),
        "SELECT to_char(max(_cdc_ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM items");
    CHECK_MESSAGE(occurrences(caught_up.out,
                              "table public.items: newest applied change " + newest + " UTC") == 1,
                  caught_up.log);

    REQUIRE(consumer.stop() == 0);
    exec(env.source_url(), "INSERT INTO items SELECT g, 'late' FROM generate_series(31, 40) g");
    REQUIRE(eventually(
        [&] { return query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "0"; }));
    const auto behind = env.verify(status);
    CHECK_MESSAGE(behind.exit_code == 0, behind.log);
    CHECK_MESSAGE(occurrences(behind.out, "total lag 10\n") == 1, behind.log);

    const auto without_kafka =
        env.verify({"--status", "--topic", env.topic(), "--group", env.group()});
    CHECK_MESSAGE(without_kafka.exit_code == 0, without_kafka.log);
    CHECK_MESSAGE(occurrences(without_kafka.out, "lag unknown") == 1, without_kafka.log);
    CHECK_MESSAGE(occurrences(without_kafka.out, ": applied up to offset ") >= 1,
                  without_kafka.log);
    CHECK(producer.stop() == 0);
}
