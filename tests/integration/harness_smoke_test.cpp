// The harness on its own, without pgtrail's programs: if this fails, every other
// integration test's failure says nothing about pgtrail.
#include <doctest/doctest.h>

#include "harness/kafka_messages.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;

TEST_CASE("both clusters serve their own database") {
    TestEnv env;
    exec(env.source_url(), "CREATE TABLE probe(id int primary key); INSERT INTO probe VALUES (1)");
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM probe") == "1");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM pg_tables WHERE tablename = 'probe'") ==
          "0");
    CHECK(query_value(env.source_url(), "SELECT inet_server_port()") !=
          query_value(env.dest_url(), "SELECT inet_server_port()"));
}

TEST_CASE("a message produced to a topic can be read back") {
    TestEnv env;
    produce_messages(env.brokers(), env.topic(), {{2, 0, "k1", "v1"}, {2, 0, "k2", std::nullopt}});
    const auto messages = read_all_messages(env.brokers(), env.topic());
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].partition == 2);
    CHECK(messages[0].offset == 0);
    CHECK(messages[0].key == "k1");
    CHECK(messages[0].value == "v1");
    CHECK(messages[1].offset == 1);
    CHECK_FALSE(messages[1].value.has_value());
    CHECK(read_all_messages(env.brokers(), env.dlq_topic()).empty());
}

TEST_CASE("a stopped cluster refuses connections and serves again after start") {
    TestEnv env;
    exec(env.source_url(), "CREATE TABLE kept(id int); INSERT INTO kept VALUES (7)");
    services().source.stop();
    CHECK_THROWS(query_value(env.source_url(), "SELECT 1"));
    services().source.start();
    CHECK(query_value(env.source_url(), "SELECT id FROM kept") == "7");
}

TEST_CASE("a program's exit code and streams are observed") {
    TestEnv env;
    auto result = env.run("/bin/sh", {"-c", "echo out; echo err >&2; exit 3"});
    CHECK(result.exit_code == 3);
    CHECK(result.out == "out\n");
    CHECK(result.err == "err\n");
    auto sleeper = env.start("/bin/sleep", {"60"});
    CHECK(sleeper.running());
    CHECK(sleeper.stop() == 128 + 15);
}
