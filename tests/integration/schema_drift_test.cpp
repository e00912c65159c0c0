// The source's schema changes under a running pipeline, and its names and values can hold
// anything PostgreSQL accepts. Neither may make the destination diverge silently.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "harness/eventually.hpp"
#include "harness/exact_rows.hpp"
#include "harness/pipeline.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

const Args kFastJoin = {"-X", "session.timeout.ms=6000"};

Args with(Args args, const Args& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::vector<std::string> stored_offsets(const TestEnv& env) {
    return query_column(env.dest_url(),
                        "SELECT partition || ':' || next_offset FROM cdc.consumer_offsets "
                        "WHERE group_id = '" +
                            env.group() + "' AND topic = '" + env.topic() + "' ORDER BY partition");
}

std::string last_line(std::string text) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    const auto start = text.rfind('\n');
    return start == std::string::npos ? text : text.substr(start + 1);
}

void drain(TestEnv& env) {
    // No outage here: a retry means something is wrong, so fail fast.
    Program producer = env.producer({"--drain", "--retry-for", "10"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    Program consumer = env.consumer(with({"--drain"}, kFastJoin));
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
}

}  // namespace

TEST_CASE("a column added on the source holds the stream until db_setup adds it") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(), "CREATE TABLE public.items (id int PRIMARY KEY, x text)");
    const Args table = {"--table", "public.items"};
    const auto setup = env.setup(table);
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    Program producer = env.producer();
    Program consumer = env.consumer(with({"--retry-for", "120"}, kFastJoin));

    exec(env.source_url(), "INSERT INTO items VALUES (1, 'a'), (3, 'c')");
    auto gap = wait_until_exact(env, "public.items");
    REQUIRE_MESSAGE(gap.empty(), gap);
    const auto offsets_before = stored_offsets(env);
    const auto dest_before = user_rows(env.dest_url(), "public.items");
    REQUIRE_FALSE(offsets_before.empty());

    exec(env.source_url(),
         "ALTER TABLE items ADD COLUMN \"Extra Col\" text;"
         "INSERT INTO items VALUES (2, 'b', 'two');"
         "UPDATE items SET \"Extra Col\" = 'one' WHERE id = 1");

    // The consumer says what is wrong and what to do, and applies nothing meanwhile.
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            const std::string err = consumer.err();
                            return err.find("Extra Col") != std::string::npos &&
                                   err.find("items") != std::string::npos &&
                                   err.find("db_setup") != std::string::npos;
                        },
                        30s),
                    "no error naming the table, the column and db_setup; destination now:\n",
                    lines(user_rows(env.dest_url(), "public.items")), consumer.log());
    CHECK(consumer.running());
    CHECK(lines(stored_offsets(env)) == lines(offsets_before));
    CHECK(lines(user_rows(env.dest_url(), "public.items")) == lines(dest_before));

    const auto again = env.setup(table);
    REQUIRE_MESSAGE(again.exit_code == 0, again.log);
    CHECK(consumer.running());
    gap = wait_until_exact(env, "public.items", 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), "SELECT \"Extra Col\" FROM items WHERE id = 1") == "one");
    CHECK(query_value(env.dest_url(), "SELECT \"Extra Col\" FROM items WHERE id = 2") == "two");
    CHECK(lines(stored_offsets(env)) != lines(offsets_before));
    require_verified(env);

    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("without db_setup the consumer gives up after --retry-for, naming the column") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(), "CREATE TABLE public.items (id int PRIMARY KEY, x text)");
    const Args table = {"--table", "public.items"};
    const auto setup = env.setup(table);
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(),
         "ALTER TABLE items ADD COLUMN added_later numeric;"
         "INSERT INTO items VALUES (1, 'a', 1.5)");
    Program producer = env.producer({"--drain"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());

    Program consumer = env.consumer(with({"--retry-for", "3"}, kFastJoin));
    const int code = consumer.wait(30s);
    CHECK_MESSAGE(code == 3, consumer.log());
    const std::string reason = last_line(consumer.err());
    CHECK_MESSAGE(reason.rfind("consumer: ", 0) == 0, reason);
    CHECK_MESSAGE(reason.find("added_later") != std::string::npos, reason);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items") == "0");
    CHECK(stored_offsets(env).empty());

    // The documented way out: db_setup with the same flags, then start the consumer again.
    const auto again = env.setup(table);
    REQUIRE_MESSAGE(again.exit_code == 0, again.log);
    drain(env);
    const auto gap = exact_difference(env, "public.items");
    CHECK_MESSAGE(gap.empty(), gap);
    require_verified(env);
}

TEST_CASE("TRUNCATE of a captured table is refused and nothing changes") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(),
         "CREATE TABLE public.items (id int PRIMARY KEY, x text);"
         "CREATE TABLE public.uncaptured (id int PRIMARY KEY);"
         "INSERT INTO uncaptured VALUES (1)");
    const auto setup = env.setup({"--table", "public.items"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(), "INSERT INTO items SELECT i, 'x' || i FROM generate_series(1, 20) i");
    drain(env);
    auto gap = exact_difference(env, "public.items");
    REQUIRE_MESSAGE(gap.empty(), gap);

    for (const std::string statement :
         {"TRUNCATE items", "TRUNCATE ONLY public.items RESTART IDENTITY CASCADE",
          "TRUNCATE uncaptured, items"}) {
        CAPTURE(statement);
        const std::string error = error_of(env.source_url(), statement);
        CHECK(error.find("TRUNCATE") != std::string::npos);
        CHECK(error.find("items") != std::string::npos);
    }
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM items") == "20");
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM uncaptured") == "1");

    exec(env.source_url(), "DELETE FROM items WHERE id <= 5; INSERT INTO items VALUES (21, 'y')");
    drain(env);
    gap = exact_difference(env, "public.items");
    CHECK_MESSAGE(gap.empty(), gap);
    require_verified(env);
}

constexpr const char* kHostileTable = R"("My Schema"."we""ird Name")";

// A captured table whose every name needs quoting, with a composite key of text and int.
void create_hostile_table(TestEnv& env) {
    exec(env.source_url(), R"sql(
        CREATE SCHEMA "My Schema";
        CREATE TABLE "My Schema"."we""ird Name" (
            "Key ""Col""" text,
            "N" int,
            "Mixed Case" text,
            "with space" text,
            "quote'col" text,
            "semi;col -- x" text,
            "$1" text,
            "select" text,
            PRIMARY KEY ("Key ""Col""", "N")
        ))sql");
    const auto setup = env.setup({"--table", kHostileTable});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
}

TEST_CASE("hostile identifiers and values replicate byte for byte") {
    TestEnv env;
    INFO(env.logs());
    create_hostile_table(env);

    exec(env.source_url(), R"sql(
        INSERT INTO "My Schema"."we""ird Name" VALUES
        (E'a''b"c\\d', 1,
         E'O''Reilly "quoted" \\back\\slash\\\\ $$ $tag$ ''); DROP TABLE x; --',
         E'tab\there\nnewline\r\ncrlf \\n not a newline \\u0000 not a NUL',
         E'ctrl \x01 \x1f \x7f end',
         E'😀 漢字 한국어 e\u0301 👩\u200d👩\u200d👧 \u2028\u2029 \u202eRTL',
         '$1', 'select'),
        (E'漢字 key 😀', 2, NULL, '', ' ', E'\\', '"', E'\\"'),
        (E'$$; DELETE FROM cdc.log; --', 3, E'\\x00', E'\\\\', '{"a":1}', '[', '}', 'null'),
        ('doomed', 4, 'x', 'x', 'x', 'x', 'x', 'x');

        UPDATE "My Schema"."we""ird Name"
           SET "Mixed Case" = E'updated \\ '' " $$', "select" = E'\U0001F600'
         WHERE "N" = 1;
        -- Moves the row to another key: a delete of the old key and a create of the new.
        UPDATE "My Schema"."we""ird Name" SET "N" = 20, "with space" = E'moved\t' WHERE "N" = 2;
        UPDATE "My Schema"."we""ird Name" SET "$1" = E'changed $1 \\1' WHERE "N" = 3;
        DELETE FROM "My Schema"."we""ird Name" WHERE "N" = 4;
    )sql");

    drain(env);
    const auto gap = exact_difference(env, kHostileTable);
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), std::string("SELECT count(*) FROM ") + kHostileTable) == "3");
    require_verified(env);

    const std::string error = error_of(env.source_url(), std::string("TRUNCATE ") + kHostileTable);
    CHECK(error.find("TRUNCATE") != std::string::npos);
    CHECK(error.find("we\"ird Name") != std::string::npos);
}

// About 1.4 MB once escaped into JSON, and an update carries it twice (before and after).
TEST_CASE("a 1 MB text value replicates byte for byte") {
    TestEnv env;
    INFO(env.logs());
    create_hostile_table(env);
    exec(env.source_url(), R"sql(
        INSERT INTO "My Schema"."we""ird Name" VALUES
        (E'big''"\\', 1, repeat(E'q''"\\$$\t漢', 104858), 'b', 'c', 'd', 'e', 'f'),
        ('small', 2, 'x', 'x', 'x', 'x', 'x', 'x');
        UPDATE "My Schema"."we""ird Name" SET "$1" = 'changed' WHERE "N" = 1;
        DELETE FROM "My Schema"."we""ird Name" WHERE "N" = 2;
    )sql");
    REQUIRE(query_value(env.source_url(), std::string("SELECT octet_length(\"Mixed Case\") FROM ") +
                                              kHostileTable + " WHERE \"N\" = 1") == "1048580");

    drain(env);
    const auto gap = exact_difference(env, kHostileTable);
    CHECK_MESSAGE(gap.empty(), gap);
    require_verified(env);
}
