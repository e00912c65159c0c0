// db_setup --uninstall removes capture from the source and nothing else; it refuses while
// changes are unpublished unless --force, and db_setup installs again afterwards.
#include <doctest/doctest.h>

#include <pqxx/pqxx>
#include <string>

#include "common/pqxx_compat.hpp"
#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

const std::string kPgtrailTriggers =
    "SELECT count(*) FROM pg_trigger WHERE tgname IN ('pgtrail_capture', 'pgtrail_truncate')";
const std::string kCdcSchema = "SELECT to_regnamespace('cdc') IS NOT NULL";

// Only --source: the destination and the broker are not needed to uninstall.
RunResult uninstall(TestEnv& env, const Args& extra = {}) {
    Args args{"--source", env.source_url(), "--uninstall"};
    args.insert(args.end(), extra.begin(), extra.end());
    return env.run(kDbSetup, args);
}

void install_two_tables(TestEnv& env) {
    exec(env.source_url(), "CREATE TABLE public.items (id int PRIMARY KEY, v text)");
    const auto setup = env.setup({"--demo", "--table", "public.items"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    REQUIRE(query_value(env.source_url(), kPgtrailTriggers) == "4");
}

}  // namespace

TEST_CASE("after everything is published, uninstall leaves no trigger and no schema cdc") {
    TestEnv env;
    INFO(env.logs());
    install_two_tables(env);
    exec(env.source_url(),
         "INSERT INTO items VALUES (1, 'a'); INSERT INTO employees (city) "
         "VALUES ('Oslo')");
    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    const std::string dest_before = lines(user_rows(env.dest_url(), "public.items"));

    const auto removed = uninstall(env);
    REQUIRE_MESSAGE(removed.exit_code == 0, removed.log);
    CHECK(query_value(env.source_url(), kPgtrailTriggers) == "0");
    CHECK(query_value(env.source_url(), kCdcSchema) == "f");
    // Writes, and the TRUNCATE capture refused, work as on any table.
    exec(env.source_url(),
         "INSERT INTO items VALUES (2, 'b'); UPDATE items SET v = 'c'; "
         "DELETE FROM items WHERE id = 1; INSERT INTO employees (city) VALUES "
         "('Lima')");
    CHECK(error_of(env.source_url(), "TRUNCATE employees") == "");
    // The destination is untouched.
    CHECK(query_value(env.dest_url(), kCdcSchema) == "t");
    CHECK(lines(user_rows(env.dest_url(), "public.items")) == dest_before);

    // Uninstalling what is not installed is fine.
    const auto again = uninstall(env);
    CHECK_MESSAGE(again.exit_code == 0, again.log);
}

TEST_CASE(
    "uninstall refuses while changes are unpublished, changes nothing, and --force "
    "discards them") {
    TestEnv env;
    INFO(env.logs());
    install_two_tables(env);
    exec(env.source_url(),
         "INSERT INTO items VALUES (1, 'a'), (2, 'b'); DELETE FROM items "
         "WHERE id = 2");

    const auto refused = uninstall(env);
    CHECK_MESSAGE(refused.exit_code == 2, refused.log);
    CHECK(refused.err.find("3 changes") != std::string::npos);
    CHECK(refused.err.find("--force") != std::string::npos);
    CHECK(refused.err.find('\n') == refused.err.size() - 1);
    CHECK(query_value(env.source_url(), kPgtrailTriggers) == "4");
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "3");
    CHECK(error_of(env.source_url(), "TRUNCATE items").find("db_setup --uninstall") !=
          std::string::npos);

    const auto forced = uninstall(env, {"--force"});
    CHECK_MESSAGE(forced.exit_code == 0, forced.log);
    CHECK(query_value(env.source_url(), kPgtrailTriggers) == "0");
    CHECK(query_value(env.source_url(), kCdcSchema) == "f");
}

TEST_CASE("db_setup installs again after uninstall and replication resumes") {
    TestEnv env;
    INFO(env.logs());
    install_two_tables(env);
    exec(env.source_url(), "INSERT INTO items VALUES (1, 'a')");
    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    Program consumer = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
    const auto removed = uninstall(env);
    REQUIRE_MESSAGE(removed.exit_code == 0, removed.log);

    // The destination's rows are from before the uninstall, current or not: --force reloads.
    const auto refused = env.setup({"--table", "public.items", "--snapshot"});
    CHECK_MESSAGE(refused.exit_code == 2, refused.log);
    const auto setup = env.setup({"--table", "public.items", "--snapshot", "--force"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    CHECK(query_value(env.source_url(), kPgtrailTriggers) == "2");
    exec(env.source_url(),
         "INSERT INTO items VALUES (2, 'b'); UPDATE items SET v = 'z' WHERE id "
         "= 1");
    Program producer2 = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer2.wait(60s) == 0, producer2.log());
    Program consumer2 = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer2.wait(60s) == 0, consumer2.log());
    const auto verify = env.verify({"--table", "public.items"});
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    CHECK(query_value(env.dest_url(), "SELECT string_agg(id || v, ',' ORDER BY id) FROM items") ==
          "1z,2b");
}

TEST_CASE("--uninstall needs no --dest nor --brokers and refuses install flags") {
    TestEnv env;
    const Args source{"--source", env.source_url()};
    auto with = [&](Args extra) {
        Args args = source;
        args.insert(args.end(), extra.begin(), extra.end());
        return env.run(kDbSetup, args);
    };
    for (const Args& bad : {Args{"--uninstall", "--table", "public.x"},
                            Args{"--uninstall", "--demo"}, Args{"--force"}}) {
        const auto result = with(bad);
        CHECK_MESSAGE(result.exit_code == 2, result.log);
    }
    // Installing still needs both.
    const auto no_dest = with({"--brokers", env.brokers(), "--demo"});
    CHECK(no_dest.exit_code == 2);
    CHECK(no_dest.err.find("--dest") != std::string::npos);
    const auto no_brokers = with({"--dest", env.dest_url(), "--demo"});
    CHECK(no_brokers.exit_code == 2);
    CHECK(no_brokers.err.find("--brokers") != std::string::npos);
}

// A write in flight when uninstall starts must either be counted as unpublished or be
// refused by the dropped trigger's lock, never slip in after the count and be lost.
TEST_CASE("uninstall waits for a writer in flight and then counts its change") {
    TestEnv env;
    INFO(env.logs());
    install_two_tables(env);
    pqxx::connection writer(env.source_url());
    pqxx::work tx(writer);
    pgtrail::pq::exec0(tx, "INSERT INTO items VALUES (7, 'in flight')");

    Program removing = env.start(kDbSetup, {"--source", env.source_url(), "--uninstall"});
    const std::string waiting_on_lock =
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE "
        "'DROP TRIGGER%'";
    REQUIRE_MESSAGE(
        eventually([&] { return query_value(env.source_url(), waiting_on_lock) == "1"; }),
        removing.log());
    tx.commit();

    CHECK_MESSAGE(removing.wait(60s) == 2, removing.log());
    CHECK_MESSAGE(removing.logged("1 changes"), removing.log());
    CHECK(query_value(env.source_url(), kPgtrailTriggers) == "4");
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "1");
}
