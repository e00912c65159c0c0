// Changes made on the source reach the destination while producer and consumer run
// continuously, as they do in production.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;

namespace {

// Producer and consumer for the duration of a test case; both must survive it and stop
// cleanly on SIGTERM.
struct RunningPipeline {
    explicit RunningPipeline(TestEnv& env) : producer(env.producer()), consumer(env.consumer()) {}
    void stop() {
        CHECK(producer.running());
        CHECK(consumer.running());
        CHECK(producer.stop() == 0);
        CHECK(consumer.stop() == 0);
    }
    Program producer;
    Program consumer;
};

}  // namespace

TEST_CASE("inserts, updates and deletes reach the destination") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    RunningPipeline pipeline(env);
    const std::string table = "public.employees";

    exec(env.source_url(),
         "INSERT INTO employees (first_name, last_name, dob, city, salary) VALUES "
         "('Alice', 'Smith', '1990-01-15', 'Oslo', 50000),"
         "('Bob', 'Jones', '1985-06-30', 'Lima', 62000),"
         "('Carol', 'White', NULL, 'Pune', 71000)");
    auto gap = wait_until_replicated(env, table);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(user_rows(env.dest_url(), table).size() == 3);

    exec(env.source_url(),
         "UPDATE employees SET salary = 95000, city = 'Bergen' WHERE first_name = 'Alice'");
    gap = wait_until_replicated(env, table);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), "SELECT city FROM employees WHERE first_name = 'Alice'") ==
          "Bergen");

    exec(env.source_url(), "DELETE FROM employees WHERE first_name = 'Bob'");
    gap = wait_until_replicated(env, table);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM employees") == "2");

    pipeline.stop();
}

TEST_CASE("an update of the primary key moves the row to its new key") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(), "CREATE TABLE public.items (id int PRIMARY KEY, x text)");
    const auto setup = env.setup({"--table", "public.items"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    RunningPipeline pipeline(env);
    const std::string items = "SELECT string_agg(id || ':' || x, ',' ORDER BY id) FROM items";

    exec(env.source_url(), "INSERT INTO items VALUES (1, 'a'), (5, 'e')");
    auto gap = wait_until_replicated(env, "public.items");
    REQUIRE_MESSAGE(gap.empty(), gap);

    exec(env.source_url(), "UPDATE items SET id = 2, x = 'b' WHERE id = 1");
    gap = wait_until_replicated(env, "public.items");
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), items) == "2:b,5:e");

    pipeline.stop();
}

TEST_CASE("a row updated 100 times in separate transactions ends in its last state") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(), "CREATE TABLE public.counters (id int PRIMARY KEY, n int, note text)");
    const auto setup = env.setup({"--table", "public.counters"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    RunningPipeline pipeline(env);

    exec(env.source_url(), "INSERT INTO counters VALUES (1, 0, 'v0'), (2, 0, 'untouched')");
    {
        pqxx::connection conn(env.source_url());
        for (int i = 0; i < 100; ++i) {
            pqxx::work tx(conn);
            tx.exec("UPDATE counters SET n = n + 1, note = 'v' || (n + 1) WHERE id = 1");
            tx.commit();
        }
    }
    const auto gap = wait_until_replicated(env, "public.counters");
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), "SELECT n || ' ' || note FROM counters WHERE id = 1") ==
          "100 v100");

    pipeline.stop();
}
