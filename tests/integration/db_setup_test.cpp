// db_setup runs again on every deploy; a second run must change nothing.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

// Everything db_setup creates or registers, as text that a second run must leave equal.
std::string cdc_objects(const TestEnv& env) {
    const auto relations = [](const std::string& url) {
        return lines(query_column(url,
                                  "SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text "
                                  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                  "WHERE n.nspname IN ('cdc', 'public') ORDER BY 1"));
    };
    return "---- source triggers: " +
           query_value(env.source_url(), "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal") +
           "\n---- source functions:\n" +
           lines(query_column(env.source_url(),
                              "SELECT oid::regprocedure::text FROM pg_proc "
                              "WHERE pronamespace = 'cdc'::regnamespace ORDER BY 1")) +
           "---- registry:\n" +
           lines(query_column(env.source_url(),
                              "SELECT to_jsonb(r)::text FROM cdc.captured_tables r ORDER BY 1")) +
           "---- source relations:\n" + relations(env.source_url()) +
           "---- log rows: " + query_value(env.source_url(), "SELECT count(*) FROM cdc.log") +
           "\n---- destination relations:\n" + relations(env.dest_url()) +
           "---- destination employees columns:\n" +
           lines(query_column(env.dest_url(),
                              "SELECT column_name || ' ' || data_type || ' ' || is_nullable || "
                              "' ' || coalesce(column_default, '') "
                              "FROM information_schema.columns WHERE table_schema = 'public' "
                              "AND table_name = 'employees' ORDER BY ordinal_position")) +
           "---- destination indexes:\n" +
           lines(query_column(env.dest_url(),
                              "SELECT indexdef FROM pg_indexes "
                              "WHERE schemaname IN ('cdc', 'public') ORDER BY 1"));
}

}  // namespace

TEST_CASE("db_setup run twice changes nothing and leaves one trigger per table") {
    TestEnv env;
    INFO(env.logs());
    const auto first = env.setup({"--demo"});
    REQUIRE_MESSAGE(first.exit_code == 0, first.log);
    const auto installed = cdc_objects(env);
    REQUIRE(installed.find("public.employees r") != std::string::npos);

    const auto second = env.setup({"--demo"});
    REQUIRE_MESSAGE(second.exit_code == 0, second.log);
    CHECK(cdc_objects(env) == installed);

    const auto log_rows = [&] {
        return std::stoi(query_value(env.source_url(), "SELECT count(*) FROM cdc.log"));
    };
    const int before = log_rows();
    exec(env.source_url(), "INSERT INTO employees (first_name) VALUES ('once')");
    CHECK(log_rows() == before + 1);
}

// Installs from before kept an index on cdc.log (txid) that no query used and every captured
// write paid for; running db_setup again drops it.
TEST_CASE("db_setup drops the txid index an older install created on cdc.log") {
    TestEnv env;
    INFO(env.logs());
    const auto first = env.setup({"--demo"});
    REQUIRE_MESSAGE(first.exit_code == 0, first.log);
    exec(env.source_url(), "CREATE INDEX log_txid ON cdc.log (txid)");
    const auto upgrade = env.setup({"--demo"});
    REQUIRE_MESSAGE(upgrade.exit_code == 0, upgrade.log);
    CHECK(query_value(env.source_url(),
                      "SELECT string_agg(indexrelid::regclass::text, ' ') FROM pg_index "
                      "WHERE indrelid = 'cdc.log'::regclass") == "cdc.log_pkey");
}

// Rows a table held before capture reach the destination only through --snapshot, which
// copies them there itself, not through cdc.log; later changes follow through the pipeline.
TEST_CASE("db_setup --snapshot copies the rows a table already holds") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(),
         "CREATE TABLE public.old_rows (id int PRIMARY KEY, v text);"
         "INSERT INTO old_rows SELECT g, 'v' || g FROM generate_series(1, 250) g");
    const auto setup = env.setup({"--table", "public.old_rows", "--snapshot"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "0");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM old_rows") == "250");
    exec(env.source_url(), "UPDATE old_rows SET v = 'changed' WHERE id = 7");

    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    Program consumer = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM old_rows") == "250");
    CHECK(query_value(env.dest_url(), "SELECT v FROM old_rows WHERE id = 7") == "changed");
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
}

// Adding a table must not wait for the writers of the tables already captured: their
// in-flight writes hold cdc.log, which a rerun of the capture SQL must then leave unlocked.
TEST_CASE("db_setup adds a table while a write to another captured table is in flight") {
    TestEnv env;
    INFO(env.logs());
    const auto first = env.setup({"--demo"});
    REQUIRE_MESSAGE(first.exit_code == 0, first.log);
    exec(env.source_url(), "CREATE TABLE public.added (id int PRIMARY KEY, v text)");

    pqxx::connection writer(env.source_url());
    pqxx::work in_flight(writer);
    in_flight.exec("INSERT INTO employees (first_name) VALUES ('in flight')");
    const auto added = env.setup({"--table", "public.added", "--retry-for", "5"});
    CHECK_MESSAGE(added.exit_code == 0, added.log);
    in_flight.commit();

    exec(env.source_url(), "INSERT INTO added VALUES (1, 'captured')");
    CHECK(query_value(env.source_url(),
                      "SELECT count(*) FROM cdc.log WHERE relid = 'public.added'::regclass") ==
          "1");
}
