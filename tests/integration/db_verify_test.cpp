// db_verify is the safety net after an outage or a data loss: it must notice every kind of
// difference and name the table.
#include <doctest/doctest.h>

#include <chrono>
#include <pqxx/pqxx>

#include "harness/background_writer.hpp"
#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/pipeline.hpp"
#include "harness/program.hpp"
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

namespace {

bool says(const RunResult& result, const std::string& text) {
    return result.out.find(text) != std::string::npos;
}

// The same table on both sides, created and loaded directly, as after a restore.
void create_on_both(TestEnv& env, const std::string& create, const std::string& load) {
    for (const auto& url : {env.source_url(), env.dest_url()}) exec(url, create + "; " + load);
}

// Everything logged so far reaches the destination: the nightly sync's first two steps.
void drain_pipeline(TestEnv& env) {
    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(std::chrono::seconds(120)) == 0, producer.log());
    Program consumer = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer.wait(std::chrono::seconds(120)) == 0, consumer.log());
}

}  // namespace

TEST_CASE("db_verify finds differences deep inside a table of many chunks") {
    TestEnv env;
    INFO(env.logs());
    create_on_both(env,
                   "CREATE TABLE public.ledger (id bigint PRIMARY KEY, note text, amount numeric)",
                   "INSERT INTO ledger SELECT g, 'note ' || g, g / 7.0 "
                   "FROM generate_series(1, 50000) g");
    const Args chunked = {"--table", "public.ledger", "--chunk-rows", "1000"};

    const auto equal = env.verify(chunked);
    CHECK_MESSAGE(equal.exit_code == 0, equal.log);
    CHECK_MESSAGE(says(equal, "public.ledger: 50000 rows, equal"), equal.log);

    // 25000 closes a chunk, 25001 opens the next, 50001 lies beyond the last boundary.
    exec(env.dest_url(),
         "UPDATE ledger SET note = 'changed' WHERE id = 25000; DELETE FROM ledger WHERE id = "
         "25001; INSERT INTO ledger VALUES (50001, 'extra', 0)");
    const auto verify = env.verify(chunked);
    CHECK_MESSAGE(verify.exit_code == 1, verify.log);
    CHECK_MESSAGE(says(verify, "public.ledger: 50000 source rows, DIFFERENT\n"), verify.log);
    CHECK_MESSAGE(says(verify, "1 missing on the destination e.g. {\"id\":25001}\n"), verify.log);
    CHECK_MESSAGE(says(verify, "1 extra on the destination e.g. {\"id\":50001}\n"), verify.log);
    CHECK_MESSAGE(says(verify, "1 with different values e.g. {\"id\":25000}\n"), verify.log);
}

TEST_CASE("db_verify compares chunks of composite and text primary keys") {
    TestEnv env;
    INFO(env.logs());
    create_on_both(env,
                   "CREATE TABLE public.stock (region text, item int, qty int, "
                   "PRIMARY KEY (region, item))",
                   "INSERT INTO stock SELECT 'region ' || (g % 7), g, g "
                   "FROM generate_series(1, 3000) g");
    create_on_both(env, "CREATE TABLE public.codes (code text PRIMARY KEY, label text)",
                   "INSERT INTO codes SELECT 'Code-' || g, 'label ' || g "
                   "FROM generate_series(1, 2000) g");
    exec(env.dest_url(),
         "UPDATE stock SET qty = -1 WHERE region = 'region 3' AND item = 1501; "
         "DELETE FROM stock WHERE region = 'region 5' AND item = 2000; "
         "UPDATE codes SET label = NULL WHERE code = 'Code-1234'; "
         "DELETE FROM codes WHERE code = 'Code-77'; INSERT INTO codes VALUES ('code-zz', 'x')");

    const auto verify =
        env.verify({"--table", "public.stock", "--table", "public.codes", "--chunk-rows", "300"});
    CHECK_MESSAGE(verify.exit_code == 1, verify.log);
    CHECK_MESSAGE(says(verify, "public.stock: 3000 source rows, DIFFERENT\n"), verify.log);
    CHECK_MESSAGE(
        says(verify, "1 missing on the destination e.g. {\"region\":\"region 5\",\"item\":2000}"),
        verify.log);
    CHECK_MESSAGE(
        says(verify, "1 with different values e.g. {\"region\":\"region 3\",\"item\":1501}"),
        verify.log);
    CHECK_MESSAGE(says(verify, "public.codes: 2000 source rows, DIFFERENT\n"), verify.log);
    CHECK_MESSAGE(says(verify, "1 missing on the destination e.g. {\"code\":\"Code-77\"}"),
                  verify.log);
    CHECK_MESSAGE(says(verify, "1 extra on the destination e.g. {\"code\":\"code-zz\"}"),
                  verify.log);
    CHECK_MESSAGE(says(verify, "1 with different values e.g. {\"code\":\"Code-1234\"}"),
                  verify.log);
}

TEST_CASE("db_verify reports a table that is empty on one side") {
    TestEnv env;
    INFO(env.logs());
    const std::string create = "CREATE TABLE public.notes (id int PRIMARY KEY, body text)";
    exec(env.source_url(), create);
    exec(env.dest_url(), create);
    const std::string rows = "INSERT INTO notes SELECT g, 'body' FROM generate_series(1, 2500) g";
    const Args chunked = {"--table", "public.notes", "--chunk-rows", "1000"};

    SUBCASE("empty on the destination") {
        exec(env.source_url(), rows);
        const auto verify = env.verify(chunked);
        CHECK_MESSAGE(verify.exit_code == 1, verify.log);
        CHECK_MESSAGE(says(verify, "2500 missing on the destination e.g. "), verify.log);
    }
    SUBCASE("empty on the source") {
        exec(env.dest_url(), rows);
        const auto verify = env.verify(chunked);
        CHECK_MESSAGE(verify.exit_code == 1, verify.log);
        CHECK_MESSAGE(says(verify, "public.notes: 0 source rows, DIFFERENT\n"), verify.log);
        CHECK_MESSAGE(says(verify, "2500 extra on the destination"), verify.log);
    }
    SUBCASE("empty on both") {
        const auto verify = env.verify(chunked);
        CHECK_MESSAGE(verify.exit_code == 0, verify.log);
        CHECK_MESSAGE(says(verify, "public.notes: 0 rows, equal"), verify.log);
    }
}

// Key ranges cut by one side's collation would not line up with the other side's: 'B' sorts
// before 'a' in "C" but after it in ICU. db_verify must notice and merge the whole table.
TEST_CASE("db_verify falls back to a full merge when key collations differ") {
    TestEnv env;
    INFO(env.logs());
    const std::string load =
        "INSERT INTO tags SELECT chr(65 + g % 26) || g, 'v' FROM generate_series(1, 2000) g; "
        "INSERT INTO tags SELECT chr(97 + g % 26) || g, 'v' FROM generate_series(1, 2000) g";
    exec(env.source_url(),
         "CREATE TABLE public.tags (tag text COLLATE \"C\" PRIMARY KEY, v text); " + load);
    exec(env.dest_url(),
         "CREATE TABLE public.tags (tag text COLLATE \"und-x-icu\" PRIMARY KEY, v text); " + load);
    const Args chunked = {"--table", "public.tags", "--chunk-rows", "100"};

    const auto equal = env.verify(chunked);
    CHECK_MESSAGE(equal.exit_code == 0, equal.log);
    CHECK_MESSAGE(says(equal,
                       "public.tags: 4000 rows, equal (key collations differ between the "
                       "sides, compared by a full merge)"),
                  equal.log);

    exec(env.dest_url(),
         "UPDATE tags SET v = 'w' WHERE tag = 'B1'; DELETE FROM tags WHERE tag = 'b1'");
    const auto verify = env.verify(chunked);
    CHECK_MESSAGE(verify.exit_code == 1, verify.log);
    CHECK_MESSAGE(says(verify, "1 missing on the destination e.g. {\"tag\":\"b1\"}\n"), verify.log);
    CHECK_MESSAGE(says(verify, "1 with different values e.g. {\"tag\":\"B1\"}\n"), verify.log);
    CHECK_MESSAGE(!says(verify, "extra"), verify.log);
}

TEST_CASE("db_verify --repair heals the destination by copying the differing rows") {
    TestEnv env;
    INFO(env.logs());
    create_equal_accounts(env);
    // Publish and apply what loading the source logged, so only the repair can heal below.
    drain_pipeline(env);
    exec(env.dest_url(),
         "UPDATE accounts SET owner = 'changed' WHERE id = 1; DELETE FROM accounts WHERE id = 2; "
         "INSERT INTO accounts (id, owner, balance) VALUES (5, 'eve', 1)");
    REQUIRE(env.verify().exit_code == 1);

    const auto repair = env.verify({"--repair"});
    CHECK_MESSAGE(repair.exit_code == 1, repair.log);
    CHECK_MESSAGE(says(repair,
                       "repair: copied 2 current rows to the destination and removed 1 "
                       "rows the source does not hold"),
                  repair.log);

    // Healed without the pipeline: nothing went through cdc.log.
    const auto healed = env.verify();
    CHECK_MESSAGE(healed.exit_code == 0, healed.log);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM accounts WHERE id = 5") == "0");
}

// The repair reads rows while the application keeps writing the very rows it repairs: each
// write must still end up newer on the destination than the repair's copy of the row.
TEST_CASE("db_verify --repair during concurrent writes leaves the destination equal") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.counters (id int PRIMARY KEY, v bigint, note text)",
                  "public.counters");
    exec(env.source_url(),
         "INSERT INTO counters SELECT g, 0, 'start' FROM generate_series(1, 300) g");
    drain_pipeline(env);
    exec(env.dest_url(),
         "UPDATE counters SET note = 'drifted' WHERE id % 3 = 0; DELETE FROM counters WHERE id % "
         "7 = 0; INSERT INTO counters SELECT g, 0, 'stray' FROM generate_series(1001, 1050) g");

    // Each round writes keys the repair enqueues and stays open a moment, so the repair's
    // read of those rows almost always meets an uncommitted write.
    BackgroundWriter writer(env.source_url(), [](pqxx::work& tx, std::int64_t n) {
        tx.exec("UPDATE counters SET v = v + 1, note = 'round " + std::to_string(n) +
                "' WHERE id = " + std::to_string(3 * (n % 100 + 1)));
        const std::string gone = std::to_string(7 * (n % 42 + 1));
        tx.exec("DELETE FROM counters WHERE id = " + gone);
        tx.exec("INSERT INTO counters VALUES (" + gone + ", " + std::to_string(n) + ", 'back')");
        tx.exec("SELECT pg_sleep(0.02)");
        return true;
    });
    REQUIRE(eventually([&] { return writer.committed() > 20; }));
    const auto repair = env.verify({"--repair", "--chunk-rows", "50"});
    CHECK_MESSAGE(repair.exit_code == 1, repair.log);
    REQUIRE(eventually([&] { return writer.committed() > 50; }));
    writer.stop();
    CHECK_MESSAGE(writer.failed() == 0, writer.last_error());

    drain_pipeline(env);
    const auto healed = env.verify();
    CHECK_MESSAGE(healed.exit_code == 0, healed.log);
}

// row_to_json, which db_verify compares rows by, prints some different values alike (JSON
// null and SQL NULL, arrays whose bounds differ). Each pair here differs in exactly one
// value of one row, and db_verify must report that row, through its range hash and its
// row comparison alike; pairs that are one value spelled differently must compare equal.
TEST_CASE("db_verify tells apart values that print alike and equates one value's spellings") {
    struct Pair {
        const char* column;
        const char* source;
        const char* dest;
        bool differ = true;
    };
    Pair pair{"t", "'x'", "'x'", false};
    SUBCASE("JSON null vs SQL NULL, json") { pair = {"j", "'null'", "NULL"}; }
    SUBCASE("SQL NULL vs JSON null, jsonb") { pair = {"jb", "NULL", "'null'"}; }
    SUBCASE("JSON null vs SQL NULL element of jsonb[]") {
        pair = {"jba", "ARRAY['null'::jsonb]", "ARRAY[NULL::jsonb]"};
    }
    SUBCASE("the JSON string \"null\" vs JSON null") { pair = {"j", "'\"null\"'", "'null'"}; }
    SUBCASE("'' vs NULL") { pair = {"t", "''", "NULL"}; }
    SUBCASE("NULL vs the text null") { pair = {"t", "NULL", "'null'"}; }
    SUBCASE("trailing space in varchar") { pair = {"v", "'ab'", "'ab '"}; }
    SUBCASE("numeric 1.0 vs 1") { pair = {"n", "1.0", "1"}; }
    SUBCASE("float -0 vs 0") { pair = {"f", "'-0'", "0"}; }
    SUBCASE("floats one unit in the last place apart") {
        pair = {"f", "0.1", "0.10000000000000002"};
    }
    SUBCASE("array bounds") { pair = {"ia", "'[0:1]={1,2}'", "'{1,2}'"}; }
    SUBCASE("a NULL element vs the text NULL") { pair = {"ta", "'{NULL}'", "'{\"NULL\"}'"}; }
    SUBCASE("timestamptz instants an hour apart") {
        pair = {"ts", "'2024-01-01 00:00+00'", "'2024-01-01 00:00+01'"};
    }
    SUBCASE("the same instant written in two zones") {
        pair = {"ts", "'2024-01-01 00:00+00'", "'2024-01-01 05:30+05:30'", false};
    }
    SUBCASE("char(5) with and without its padding") { pair = {"c", "'ab'", "'ab   '", false}; }
    CAPTURE(pair.column);
    CAPTURE(pair.source);
    CAPTURE(pair.dest);
    TestEnv env;
    INFO(env.logs());
    // Defaults that change how values print, different on each side: the verifier's own
    // settings must decide.
    exec(env.source_url(),
         "ALTER DATABASE " + env.source_db() + " SET TimeZone = 'Pacific/Chatham'");
    const std::string dest_db = query_value(env.dest_url(), "SELECT current_database()");
    exec(env.dest_url(), "ALTER DATABASE " + dest_db + " SET TimeZone = 'America/Lima'");
    exec(env.dest_url(), "ALTER DATABASE " + dest_db + " SET extra_float_digits = -15");
    create_on_both(
        env,
        "CREATE TABLE public.vals (id int PRIMARY KEY, j json, jb jsonb, t text, "
        "v varchar(10), n numeric, f float8, ts timestamptz, ia int[], ta text[], "
        "jba jsonb[], c char(5))",
        "INSERT INTO vals VALUES (1, '{}', '{}', 'x', 'ab', 1.5, 0.5, "
        "'2024-01-01 00:00+00', '{1,2}', '{a}', '{}', 'ab'), "
        "(2, '[]', '[]', 'y', 'cd', 2, 2.5, '2024-06-30 12:34:56.789+02', '{}', '{}', '{}', "
        "'cd')");
    const std::string update = std::string("UPDATE vals SET ") + pair.column + " = ";
    exec(env.source_url(), update + pair.source + " WHERE id = 1");
    exec(env.dest_url(), update + pair.dest + " WHERE id = 1");

    const auto verify = env.verify({"--table", "public.vals"});
    if (pair.differ) {
        CHECK_MESSAGE(verify.exit_code == 1, verify.log);
        CHECK_MESSAGE(says(verify, "1 with different values e.g. {\"id\":1}\n"), verify.log);
    } else {
        CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    }
}

// db_verify names its row sources t, k and r; a column of the same name must not stand in
// for the row (a bare name is a column before it is a table alias).
TEST_CASE("db_verify compares whole rows of a table whose columns are named k, r and t") {
    TestEnv env;
    INFO(env.logs());
    create_on_both(env, "CREATE TABLE public.aliases (k int PRIMARY KEY, r text, t text)",
                   "INSERT INTO aliases VALUES (1, 'same', 'same'), (2, 'same', 'same')");
    exec(env.dest_url(), "UPDATE aliases SET t = 'changed' WHERE k = 2");
    const auto verify = env.verify({"--table", "public.aliases"});
    CHECK_MESSAGE(verify.exit_code == 1, verify.log);
    CHECK_MESSAGE(says(verify, "1 with different values e.g. {\"k\":2}\n"), verify.log);
}
