// The nightly cross-database sync: producer --drain && consumer --drain && db_verify.
#include <doctest/doctest.h>

#include <pqxx/pqxx>
#include <string>

#include "harness/kafka_messages.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

TEST_CASE("drain, drain, verify: a few hundred mixed changes arrive and verify clean") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    {
        pqxx::connection conn(env.source_url());
        // Bulk transactions, then many small ones, so batches mix both shapes.
        for (int block = 0; block < 3; ++block) {
            pqxx::work tx(conn);
            tx.exec(
                "INSERT INTO employees (first_name, last_name, dob, city, salary) "
                "SELECT 'f' || i, 'l' || i, date '1970-01-01' + i * 30, 'city' || (i % 13), "
                "30000 + i FROM generate_series(1, 100) i");
            tx.commit();
        }
        pqxx::work bulk(conn);
        bulk.exec("UPDATE employees SET salary = salary * 2 WHERE emp_id % 2 = 0");
        bulk.exec("DELETE FROM employees WHERE emp_id % 7 = 0");
        bulk.commit();
        for (int id = 1; id <= 120; id += 3) {
            pqxx::work tx(conn);
            tx.exec("UPDATE employees SET city = 'moved', last_name = NULL WHERE emp_id = " +
                    std::to_string(id));
            tx.commit();
        }
        for (int id = 200; id < 240; ++id) {
            pqxx::work tx(conn);
            tx.exec("DELETE FROM employees WHERE emp_id = " + std::to_string(id));
            tx.exec("INSERT INTO employees (first_name, city, salary) VALUES ('late', 'x', " +
                    std::to_string(id) + ")");
            tx.commit();
        }
    }
    REQUIRE(std::stoi(query_value(env.source_url(), "SELECT count(*) FROM employees")) > 200);

    Program producer = env.producer({"--drain"});
    const int produced = producer.wait(120s);
    REQUIRE_MESSAGE(produced == 0, producer.log());
    Program consumer = env.consumer({"--drain"});
    const int consumed = consumer.wait(120s);
    REQUIRE_MESSAGE(consumed == 0, consumer.log());
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);

    const auto gap = wait_until_replicated(env, "public.employees", 0s);
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK(read_all_messages(env.brokers(), env.dlq_topic()).empty());
}

// After a dump/restore into another cluster the stored position can name transactions this
// cluster has not reached; skipping to "now" would lose the log. The README documents the
// refusal and the reset.
TEST_CASE("a stored position ahead of the cluster is refused; the documented reset recovers") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(), "INSERT INTO employees (first_name) VALUES ('kept')");
    exec(env.source_url(),
         "UPDATE cdc.producer_position SET snapshot = '999999999:999999999:'::pg_snapshot");

    Program refused = env.producer({"--drain"});
    CHECK_MESSAGE(refused.wait(60s) == 3, refused.log());
    const std::string reason = refused.err().substr(refused.err().rfind("producer: "));
    CHECK_MESSAGE(reason.find("lies ahead") != std::string::npos, reason);
    CHECK_MESSAGE(reason.find("SET snapshot = NULL") != std::string::npos, reason);
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "1");

    exec(env.source_url(), "UPDATE cdc.producer_position SET snapshot = NULL");
    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    Program consumer = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
}
