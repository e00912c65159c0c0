// What a ruled destination table keeps besides a mirror: a soft-deleted row stays, marked,
// and comes back when its key does; a history table records every change once, however
// often it is delivered; and a table that already holds rows is loaded into its slice.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "harness/binaries.hpp"
#include "harness/pipeline.hpp"
#include "harness/program.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

Args rules_flag(const std::filesystem::path& rules) { return {"--rules", rules.string()}; }

void setup_or_fail(TestEnv& env, const std::filesystem::path& rules, const Args& extra = {}) {
    Args args = rules_flag(rules);
    args.insert(args.end(), extra.begin(), extra.end());
    const auto setup = env.setup(args);
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
}

int verify_exit(TestEnv& env, const std::filesystem::path& rules) {
    const auto verify = env.verify(rules_flag(rules));
    INFO(verify.log);
    return verify.exit_code;
}

}  // namespace

TEST_CASE("soft-delete keeps a deleted row marked and revives it when its key returns") {
    TestEnv env;
    INFO(env.logs());
    const auto rules = write_rules(env, "soft.toml", R"toml([[table]]
source = "public.employees"
dest   = "arch.employees"
where  = "salary > 12"
mode   = "soft-delete"
)toml");
    setup_or_fail(env, rules, {"--demo"});
    exec(env.source_url(),
         "INSERT INTO employees (emp_id, first_name, salary) VALUES "
         "(1, 'low', 10), (2, 'Bob', 20), (3, 'Cy', 30)");
    drain_or_fail(env, rules_flag(rules));
    const std::string rows =
        "SELECT emp_id || ':' || first_name || ':' || salary || ':' || "
        "(deleted_at IS NOT NULL) FROM arch.employees ORDER BY emp_id";
    CHECK(query_column(env.dest_url(), rows) ==
          std::vector<std::string>{"2:Bob:20:false", "3:Cy:30:false"});

    // A delete, and an update that leaves the filter: both rows stay, marked.
    exec(env.source_url(), "DELETE FROM employees WHERE emp_id = 2");
    exec(env.source_url(), "UPDATE employees SET salary = 5 WHERE emp_id = 3");
    drain_or_fail(env, rules_flag(rules));
    CHECK(query_column(env.dest_url(), rows) ==
          std::vector<std::string>{"2:Bob:20:true", "3:Cy:30:true"});
    // Marked with the source's time of the delete, not the apply's.
    CHECK(query_value(env.dest_url(),
                      "SELECT (deleted_at = _cdc_ts)::text FROM arch.employees WHERE emp_id = 2") ==
          "true");
    CHECK(verify_exit(env, rules) == 0);

    // The key comes back: the row is written again and no longer marked.
    exec(env.source_url(),
         "INSERT INTO employees (emp_id, first_name, salary) VALUES (2, 'Bob again', 99)");
    drain_or_fail(env, rules_flag(rules));
    CHECK(query_column(env.dest_url(), rows) ==
          std::vector<std::string>{"2:Bob again:99:false", "3:Cy:30:true"});
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");
    CHECK(verify_exit(env, rules) == 0);

    // A marked row that lost its mark is one the source does not hold.
    exec(env.dest_url(), "UPDATE arch.employees SET deleted_at = NULL WHERE emp_id = 3");
    CHECK(verify_exit(env, rules) == 1);
}

TEST_CASE("a history table records every change once, even when delivered again") {
    TestEnv env;
    INFO(env.logs());
    const auto rules = write_rules(env, "history.toml", R"toml([[table]]
source  = "public.employees"
dest    = "audit.employees_history"
columns = ["emp_id", "salary"]
mode    = "history"
)toml");
    setup_or_fail(env, rules, {"--demo"});
    exec(
        env.source_url(),
        "INSERT INTO employees (emp_id, first_name, salary) VALUES (1, 'Ann', 10), (2, 'Bob', 20)");
    // Two updates of one row in one transaction: a mirror keeps the last, history both.
    exec(env.source_url(),
         "UPDATE employees SET salary = 11 WHERE emp_id = 1; "
         "UPDATE employees SET salary = 12 WHERE emp_id = 1");
    exec(env.source_url(), "UPDATE employees SET emp_id = 7 WHERE emp_id = 2");
    exec(env.source_url(), "DELETE FROM employees WHERE emp_id = 1");
    drain_or_fail(env, rules_flag(rules));

    // A key change is a delete of the old key and an insert of the new one, in one change
    // (one seq); a delete records the row before it.
    const std::string entries =
        "SELECT emp_id || ':' || _cdc_op || ':' || salary FROM audit.employees_history "
        "ORDER BY _cdc_seq, _cdc_op";
    const std::vector<std::string> expected = {"1:c:10", "2:c:20", "1:u:11", "1:u:12",
                                               "7:c:20", "2:d:20", "1:d:12"};
    CHECK(query_column(env.dest_url(), entries) == expected);
    // Each entry names its source transaction; the two updates share theirs.
    CHECK(query_value(env.dest_url(),
                      "SELECT count(DISTINCT _cdc_txid) || '/' || count(_cdc_txid) FROM "
                      "audit.employees_history") == "4/7");
    CHECK(verify_exit(env, rules) == 0);

    // A second group replays the whole topic into the same table: nothing is recorded twice.
    Program replay =
        env.start(kConsumer, {"--dest", env.dest_url(), "--brokers", env.brokers(), "--topic",
                              env.topic(), "--group", env.group() + "_replay", "--rules",
                              rules.string(), "--drain", "--retry-for", "10"});
    REQUIRE_MESSAGE(replay.wait(60s) == 0, replay.log());
    CHECK(query_column(env.dest_url(), entries) == expected);

    // The latest entry of a key is what db_verify compares.
    exec(env.dest_url(), "DELETE FROM audit.employees_history WHERE emp_id = 1 AND _cdc_op = 'd'");
    CHECK(verify_exit(env, rules) == 1);
}

TEST_CASE("a table that holds rows is loaded into its slice and then follows the stream") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(),
         "CREATE TABLE public.big (id int PRIMARY KEY, v int, tag text); "
         "INSERT INTO public.big SELECT g, g % 10, 't' || g FROM generate_series(1, 3000) g");
    const auto rules = write_rules(env, "load.toml", R"toml([[table]]
source  = "public.big"
dest    = "sl.big_small"
where   = "v < 3"
columns = ["id", "v"]
[table.set]
tag_upper = "upper(tag)"
)toml");
    setup_or_fail(env, rules, {"--table", "public.big", "--snapshot"});
    const std::string slice =
        "SELECT id || ':' || v || ':' || tag_upper FROM sl.big_small ORDER BY id";
    const std::string expected =
        "SELECT id || ':' || v || ':' || upper(tag) FROM public.big WHERE v < 3 ORDER BY id";
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM sl.big_small") == "900");
    CHECK(query_column(env.dest_url(), slice) == query_column(env.source_url(), expected));
    CHECK(verify_exit(env, rules) == 0);

    // Loaded rows have NULL guards, so the stream's changes win over them, out and in.
    exec(env.source_url(), "UPDATE public.big SET v = 9 WHERE id = 10");
    exec(env.source_url(), "UPDATE public.big SET v = 0, tag = 'back' WHERE id = 5");
    drain_or_fail(env, rules_flag(rules));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM sl.big_small") == "900");
    CHECK(query_column(env.dest_url(), slice) == query_column(env.source_url(), expected));
    CHECK(query_value(env.dest_url(), "SELECT tag_upper FROM sl.big_small WHERE id = 5") == "BACK");

    // A finished load is not done again.
    const auto again =
        env.setup({"--rules", rules.string(), "--table", "public.big", "--snapshot"});
    CHECK_MESSAGE(again.exit_code == 0, again.log);
    CHECK(again.err.find("finished before") != std::string::npos);
}
