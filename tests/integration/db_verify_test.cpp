// db_verify is the safety net after an outage or a data loss: it must notice every kind of
// difference and name the table.
#include <doctest/doctest.h>

#include "harness/binaries.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;

namespace {

// Loaded directly on both sides, as after a restore, so the tests exercise db_verify alone.
void create_equal_accounts(TestEnv& env) {
    exec(env.source_url(),
         "CREATE TABLE public.accounts (id int PRIMARY KEY, owner text, balance numeric(12,2))");
    const auto setup = env.setup({"--table", "public.accounts"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    const std::string rows =
        "INSERT INTO accounts (id, owner, balance) VALUES "
        "(1, 'ann', 10.50), (2, 'ben', 0), (3, 'cy', NULL), (4, 'di', 99999.99)";
    exec(env.source_url(), rows);
    exec(env.dest_url(), rows);
}

bool names_accounts(const RunResult& result) {
    return (result.out + result.err).find("accounts") != std::string::npos;
}

}  // namespace

TEST_CASE("db_verify passes an equal pair and reports each kind of difference") {
    TestEnv env;
    INFO(env.logs());
    create_equal_accounts(env);

    std::string injected = "nothing";
    SUBCASE("an equal pair") {}
    SUBCASE("a changed value") { injected = "UPDATE accounts SET balance = 10.51 WHERE id = 1"; }
    SUBCASE("a changed NULL") { injected = "UPDATE accounts SET balance = 0 WHERE id = 3"; }
    SUBCASE("a missing row") { injected = "DELETE FROM accounts WHERE id = 2"; }
    SUBCASE("an extra row") {
        injected = "INSERT INTO accounts (id, owner, balance) VALUES (5, 'eve', 1)";
    }
    CAPTURE(injected);
    if (injected != "nothing") exec(env.dest_url(), injected);

    const auto verify = env.verify();
    if (injected == "nothing") {
        CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    } else {
        CHECK_MESSAGE(verify.exit_code == 1, verify.log);
        CHECK_MESSAGE(names_accounts(verify), verify.log);
    }
}

TEST_CASE("db_verify takes its connection strings from the environment") {
    TestEnv env;
    INFO(env.logs());
    create_equal_accounts(env);
    exec(env.dest_url(), "DELETE FROM accounts WHERE id = 4");

    // A difference found (exit 1) proves it reached both databases without flags.
    const auto verify =
        env.run(kDbVerify, {}, std::chrono::seconds(60),
                {"CDC_SOURCE_URL=" + env.source_url(), "CDC_DEST_URL=" + env.dest_url()});
    CHECK_MESSAGE(verify.exit_code == 1, verify.log);
    CHECK_MESSAGE(names_accounts(verify), verify.log);
}
