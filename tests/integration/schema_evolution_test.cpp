// consumer --schema-evolution add-columns: the source's ALTER TABLE reaches the destination
// by itself when it is additive, holds the table with a clear reason when it is not, and
// without the flag the consumer behaves as before (README "Schema changes").
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <vector>

#include "harness/background_writer.hpp"
#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/exact_rows.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/program.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

const Args kEvolving = {"--schema-evolution",     "add-columns", "--retry-for", "120", "-X",
                        "session.timeout.ms=6000"};

constexpr const char* kItems = "public.items";

std::vector<std::string> stored_offsets(const TestEnv& env) {
    return query_column(env.dest_url(),
                        "SELECT partition || ':' || next_offset FROM cdc.consumer_offsets "
                        "WHERE group_id = '" +
                            env.group() + "' AND topic = '" + env.topic() + "' ORDER BY partition");
}

// The stored offsets once every message the topic holds is consumed: what "offsets not
// advanced" compares with. Matching rows are not enough, because the producer sends each
// schema change to every partition, and a partition holding only that marker may still be
// unconsumed when the rows already match.
std::vector<std::string> offsets_at_rest(const TestEnv& env) {
    std::map<std::int32_t, std::int64_t> ends;
    for (const auto& message : read_all_messages(env.brokers(), env.topic()))
        ends[message.partition] = message.offset + 1;
    std::vector<std::string> all_consumed;
    for (const auto& [partition, end] : ends)
        all_consumed.push_back(std::to_string(partition) + ":" + std::to_string(end));
    REQUIRE_MESSAGE(
        eventually([&] { return stored_offsets(env) == all_consumed; }, 30s),
        "stored " << lines(stored_offsets(env)) << "topic ends " << lines(all_consumed));
    return all_consumed;
}

std::string column_definition(const std::string& url, const std::string& column) {
    return query_value(url,
                       "SELECT format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN "
                       "' NOT NULL' ELSE '' END FROM pg_attribute WHERE attrelid = "
                       "'public.items'::regclass AND attname = '" +
                           column + "' AND NOT attisdropped");
}

// 100 rows on both sides before the schema changes.
void replicate_first_rows(TestEnv& env) {
    exec(env.source_url(),
         "INSERT INTO items SELECT i, 'row ' || i FROM generate_series(1, 100) i");
    const auto gap = wait_until_exact(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);
}

// Writers that insert new rows and update old ones, each round one transaction. Once
// `altered` is set they write `column` too (= the round's number), starting right after the
// ALTER commits.
std::vector<std::unique_ptr<BackgroundWriter>> start_writers(const TestEnv& env,
                                                             const std::atomic<bool>& altered,
                                                             const std::string& column) {
    std::vector<std::unique_ptr<BackgroundWriter>> writers;
    for (int w = 1; w <= 4; ++w) {
        writers.push_back(std::make_unique<BackgroundWriter>(
            env.source_url(),
            [&altered, column, w](pqxx::work& tx, std::int64_t n) {
                const std::string id = std::to_string(w * 1000000 + n);
                const std::string old_id = std::to_string(1 + (n * 7 + w) % 100);
                const std::string value = std::to_string(n) + ".125";
                if (altered) {
                    tx.exec("INSERT INTO items (id, x, " + column + ") VALUES (" + id + ", 'w', " +
                            value + ")");
                    tx.exec("UPDATE items SET x = 'u" + id + "', " + column + " = " + value +
                            " WHERE id = " + old_id);
                } else {
                    tx.exec("INSERT INTO items (id, x) VALUES (" + id + ", 'w')");
                    tx.exec("UPDATE items SET x = 'u" + id + "' WHERE id = " + old_id);
                }
                return true;
            },
            5ms));
    }
    return writers;
}

void wait_for_rounds(const std::vector<std::unique_ptr<BackgroundWriter>>& writers,
                     std::int64_t rounds) {
    for (const auto& writer : writers) {
        const std::int64_t target = writer->committed() + rounds;
        REQUIRE_MESSAGE(eventually([&] { return writer->committed() >= target; }, 60s),
                        writer->last_error());
    }
}

std::size_t times_logged_in(const std::string& log, const std::string& text) {
    std::size_t count = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++count;
    return count;
}

Args with_quick_rejoin(Args args) {
    args.insert(args.end(), kQuickRejoin.begin(), kQuickRejoin.end());
    return args;
}

bool logged(const Program& program, std::initializer_list<std::string> parts) {
    const std::string log = program.err();
    for (const auto& part : parts)
        if (log.find(part) == std::string::npos) return false;
    return true;
}

}  // namespace

TEST_CASE("a column added without default under concurrent writes arrives with every value") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id bigint PRIMARY KEY, x text)", kItems);
    Program producer = env.producer();
    Program consumer = env.consumer(kEvolving);
    replicate_first_rows(env);

    std::atomic<bool> altered{false};
    auto writers = start_writers(env, altered, "extra");
    wait_for_rounds(writers, 20);
    exec(env.source_url(), "ALTER TABLE items ADD COLUMN extra numeric(12,3)");
    altered = true;
    wait_for_rounds(writers, 40);
    for (auto& writer : writers) writer->stop();

    const auto gap = wait_until_exact(env, kItems, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK(column_definition(env.dest_url(), "extra") == "numeric(12,3)");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items WHERE extra IS NOT NULL") ==
          query_value(env.source_url(), "SELECT count(*) FROM items WHERE extra IS NOT NULL"));
    CHECK(query_value(env.dest_url(), "SELECT count(*) > 0 FROM items WHERE extra IS NOT NULL") ==
          "t");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");
    require_verified(env);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

// The consumer starts after the ALTER, so one batch holds every partition's changes from
// before it (rows lacking the column) and after it: those applied after the destination
// gained the column must get the value the source's rows read, not NULL.
TEST_CASE("columns added with a constant and with a now() default read the same on both sides") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id bigint PRIMARY KEY, x text)", kItems);
    Program producer = env.producer();
    {
        Program first = env.consumer(kEvolving);
        replicate_first_rows(env);
        CHECK(first.stop() == 0);
    }
    std::atomic<bool> altered{false};
    auto writers = start_writers(env, altered, "extra");
    wait_for_rounds(writers, 20);
    exec(env.source_url(),
         "ALTER TABLE items ADD COLUMN extra numeric(12,3) NOT NULL DEFAULT 7.5, "
         "ADD COLUMN since timestamptz DEFAULT now()");
    altered = true;
    wait_for_rounds(writers, 20);
    for (auto& writer : writers) writer->stop();

    Program consumer = env.consumer(kEvolving);
    const auto gap = wait_until_exact(env, kItems, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK(column_definition(env.dest_url(), "extra") == "numeric(12,3) NOT NULL");
    CHECK(column_definition(env.dest_url(), "since") == "timestamp with time zone");
    // The rows from before the ALTER (the writers never set `since`) read one instant.
    CHECK(query_value(env.dest_url(), "SELECT count(DISTINCT since) FROM items WHERE id <= 100") ==
          "1");
    CHECK(query_value(env.dest_url(), "SELECT count(*) > 0 FROM items WHERE extra = 7.5") == "t");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");
    require_verified(env);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

// Two consumers of one group each meet their own partitions' copies of the change: they take
// turns on the destination table, and one still applying rows from before the ALTER (its
// catalog lacks the column) must not give them NULL where the source reads the default.
TEST_CASE("two consumers of a group apply an added column with a default under writes") {
    TestEnv env(6);
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id bigint PRIMARY KEY, x text)", kItems);
    Program producer = env.producer();
    Program first = env.consumer(with_quick_rejoin(kEvolving));
    Program second = env.consumer(with_quick_rejoin(kEvolving));
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return assigned_partitions(first, env.topic()) &&
                                   assigned_partitions(second, env.topic());
                        },
                        60s),
                    first.log(), second.log());
    replicate_first_rows(env);

    std::atomic<bool> altered{false};
    auto writers = start_writers(env, altered, "extra");
    wait_for_rounds(writers, 20);
    exec(env.source_url(), "ALTER TABLE items ADD COLUMN extra numeric(12,3) NOT NULL DEFAULT 2");
    altered = true;
    wait_for_rounds(writers, 20);
    for (auto& writer : writers) writer->stop();

    const auto gap = wait_until_exact(env, kItems, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");
    require_verified(env);
    CHECK(producer.stop() == 0);
    CHECK(first.stop() == 0);
    CHECK(second.stop() == 0);
}

TEST_CASE("a column added with a volatile default holds the table, naming the repair") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id bigint PRIMARY KEY, x text)", kItems);
    Program producer = env.producer();
    Program consumer = env.consumer(kEvolving);
    replicate_first_rows(env);
    const auto offsets_before = offsets_at_rest(env);

    exec(env.source_url(),
         "ALTER TABLE items ADD COLUMN noise float8 DEFAULT random();"
         "INSERT INTO items VALUES (101, 'after', 0.5)");
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return logged(consumer, {"public.items", "\"noise\"", "random()",
                                                     "db_verify --repair --table public.items"});
                        },
                        30s),
                    consumer.log());
    CHECK(consumer.running());
    CHECK(lines(stored_offsets(env)) == lines(offsets_before));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items") == "100");

    // What the message says heals it.
    const auto setup = env.setup({"--table", kItems});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    const auto repair = env.verify({"--repair", "--table", kItems});
    CHECK_MESSAGE(repair.exit_code != 2, repair.log);
    const auto gap = wait_until_exact(env, kItems, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    require_verified(env);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("a dropped column stays on the destination, NULL from then on, reported once") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env,
                  "CREATE TABLE public.items (id bigint PRIMARY KEY, x text, "
                  "gone text NOT NULL DEFAULT 'g')",
                  kItems);
    Program producer = env.producer();
    Program consumer = env.consumer(kEvolving);
    replicate_first_rows(env);

    exec(env.source_url(),
         "ALTER TABLE items DROP COLUMN gone;"
         "UPDATE items SET x = 'changed' WHERE id <= 10;"
         "INSERT INTO items VALUES (101, 'new')");
    const auto gap = wait_until_exact(env, kItems, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK(column_definition(env.dest_url(), "gone") == "text");
    CHECK(query_value(env.dest_url(),
                      "SELECT count(*) FROM items WHERE gone IS NULL AND (id <= 10 OR id = 101)") ==
          "11");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items WHERE gone = 'g'") == "90");
    CHECK(times_logged(consumer, "the source dropped column gone") == 1);
    require_verified(env);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("a type change and a rename hold the table with the command that resolves them") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id bigint PRIMARY KEY, x text, n integer)",
                  kItems);
    Program producer = env.producer();
    Program consumer = env.consumer(kEvolving);
    replicate_first_rows(env);

    auto offsets_before = offsets_at_rest(env);
    exec(env.source_url(),
         "ALTER TABLE items ALTER COLUMN n TYPE bigint;"
         "INSERT INTO items VALUES (101, 'big', 5000000000)");
    const std::string retype = "ALTER TABLE \"public\".\"items\" ALTER COLUMN \"n\" TYPE bigint";
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return logged(consumer, {"public.items", retype});
                        },
                        30s),
                    consumer.log());
    CHECK(consumer.running());
    CHECK(lines(stored_offsets(env)) == lines(offsets_before));
    exec(env.dest_url(), retype);
    auto gap = wait_until_exact(env, kItems, 60s);
    REQUIRE_MESSAGE(gap.empty(), gap);

    offsets_before = offsets_at_rest(env);
    exec(env.source_url(),
         "ALTER TABLE items RENAME COLUMN x TO label;"
         "INSERT INTO items VALUES (102, 'renamed', 1)");
    const std::string rename = "ALTER TABLE \"public\".\"items\" RENAME COLUMN \"x\" TO \"label\"";
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return logged(consumer, {"public.items", rename});
                        },
                        30s),
                    consumer.log());
    CHECK(consumer.running());
    CHECK(lines(stored_offsets(env)) == lines(offsets_before));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items WHERE id = 102") == "0");
    exec(env.dest_url(), rename);
    gap = wait_until_exact(env, kItems, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    require_verified(env);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("without --schema-evolution an added column holds the table until db_setup") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id bigint PRIMARY KEY, x text)", kItems);
    Program producer = env.producer();
    Program consumer = env.consumer({"--retry-for", "120", "-X", "session.timeout.ms=6000"});
    replicate_first_rows(env);

    exec(env.source_url(),
         "ALTER TABLE items ADD COLUMN extra int DEFAULT 3;"
         "INSERT INTO items VALUES (101, 'after', 4)");
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return logged(consumer, {"public.items", "\"extra\"", "db_setup"});
                        },
                        30s),
                    consumer.log());
    CHECK(consumer.running());
    CHECK(query_column(env.dest_url(),
                       "SELECT attname FROM pg_attribute WHERE attrelid = "
                       "'public.items'::regclass AND attname = 'extra'")
              .empty());
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items") == "100");
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

// sql/roles.sql's consumer role owns no replicated table, so it may not alter one: the
// schema change holds (it must not be skipped, or the rows after it would lose the column)
// with PostgreSQL's reason and the way out.
TEST_CASE("a consumer role that may not alter the table holds at the schema change") {
    TestEnv env;
    INFO(env.logs());
    exec(env.dest_url(), read_file(repo_file("sql/roles.sql")));
    exec(env.dest_url(),
         "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'evolving_u') THEN "
         "CREATE ROLE evolving_u LOGIN IN ROLE pgtrail_consumer; END IF; END$$");
    capture_table(env, "CREATE TABLE public.items (id bigint PRIMARY KEY, x text)", kItems);
    std::string url = env.dest_url();
    url.replace(url.find("//postgres@"), std::string("//postgres@").size(), "//evolving_u@");
    Program producer = env.producer();
    Program consumer =
        env.start(kConsumer, {"--dest", url, "--brokers", env.brokers(), "--topic", env.topic(),
                              "--group", env.group(), "--schema-evolution", "add-columns",
                              "--retry-for", "120", "-X", "session.timeout.ms=6000"});
    replicate_first_rows(env);
    const auto offsets_before = offsets_at_rest(env);

    exec(env.source_url(),
         "ALTER TABLE items ADD COLUMN extra int DEFAULT 3;"
         "INSERT INTO items VALUES (101, 'after', 4)");
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return logged(consumer, {"public.items", "cannot be applied",
                                                     "must be owner", "db_setup --table"});
                        },
                        30s),
                    consumer.log());
    CHECK(consumer.running());
    CHECK(lines(stored_offsets(env)) == lines(offsets_before));

    // The way out the message names: db_setup adds the column, the repair copies its values.
    const auto setup = env.setup({"--table", kItems});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    const auto repair = env.verify({"--repair", "--table", kItems});
    CHECK_MESSAGE(repair.exit_code != 2, repair.log);
    const auto gap = wait_until_exact(env, kItems, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    require_verified(env);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

// PostgreSQL lets only superusers create event triggers: db_setup by the table's owner says
// so once and installs capture without it, and the consumer falls back to holding at the
// first row that carries the new column, even with --schema-evolution add-columns.
TEST_CASE("without a superuser db_setup warns once and an added column holds as before") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(),
         "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'owner_u') THEN "
         "CREATE ROLE owner_u LOGIN; END IF; END$$;"
         "GRANT CREATE ON DATABASE " +
             env.source_db() +
             " TO owner_u;"
             "CREATE TABLE public.items (id bigint PRIMARY KEY, x text);"
             "ALTER TABLE public.items OWNER TO owner_u");
    std::string source = env.source_url();
    source.replace(source.find("//postgres@"), std::string("//postgres@").size(), "//owner_u@");
    const auto setup =
        env.run(kDbSetup, {"--source", source, "--dest", env.dest_url(), "--brokers", env.brokers(),
                           "--topic", env.topic(), "--table", kItems});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    CHECK(times_logged_in(setup.err, "schema changes are not captured") == 1);
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM pg_event_trigger") == "0");

    Program producer = env.producer();
    Program consumer = env.consumer(kEvolving);
    replicate_first_rows(env);
    exec(env.source_url(),
         "ALTER TABLE items ADD COLUMN extra int;"
         "INSERT INTO items VALUES (101, 'after', 4)");
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return logged(consumer, {"public.items", "\"extra\"", "run db_setup"});
                        },
                        30s),
                    consumer.log());
    CHECK(consumer.running());
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM items") == "100");
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

// What a table owner altering their captured table defines, in a schema listed before
// pg_catalog in their search_path: functions and an operator with the exact signatures of
// built-ins the event trigger calls. Each notes who ran it, then does what the built-in would.
constexpr const char* kShadowingObjects = R"sql(
CREATE TABLE tools.ran (who text, what text);
GRANT INSERT ON tools.ran TO PUBLIC;
CREATE FUNCTION tools.format_type(t oid, m integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tools.ran VALUES (current_user, 'format_type');
    RETURN pg_catalog.format_type(t, m);
END $$;
CREATE FUNCTION tools.pg_get_expr(e pg_node_tree, r oid) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tools.ran VALUES (current_user, 'pg_get_expr');
    RETURN pg_catalog.pg_get_expr(e, r);
END $$;
CREATE FUNCTION tools.to_json(v anyelement) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tools.ran VALUES (current_user, 'to_json');
    RETURN pg_catalog.to_json(v);
END $$;
CREATE FUNCTION tools.oid_eq(a oid, b oid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tools.ran VALUES (current_user, '=(oid, oid)');
    RETURN a OPERATOR(pg_catalog.=) b;
END $$;
CREATE OPERATOR tools.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = tools.oid_eq);
)sql";

TEST_CASE("a table owner's shadowing objects never run in the schema-change event trigger") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.items (id bigint PRIMARY KEY, x text)", kItems);
    exec(env.source_url(),
         "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mallory') THEN "
         "CREATE ROLE mallory LOGIN; END IF; END$$;"
         "ALTER TABLE public.items OWNER TO mallory;"
         "CREATE SCHEMA tools AUTHORIZATION mallory");
    exec(env.source_url(), "SET ROLE mallory;" + std::string(kShadowingObjects));

    exec(env.source_url(),
         "SET ROLE mallory; SET search_path = tools, pg_catalog, public;"
         "ALTER TABLE public.items ADD COLUMN extra int DEFAULT 5;"
         "INSERT INTO public.items VALUES (1, 'a', 6)");
    CHECK(query_value(env.source_url(),
                      "SELECT coalesce(string_agg(who || ' ran ' || what, '; '), 'nothing') "
                      "FROM tools.ran") == "nothing");
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log WHERE op = 's'") == "1");
    CHECK(query_value(env.source_url(),
                      "SELECT has_function_privilege('mallory', 'cdc.capture_schema_change()', "
                      "'EXECUTE')") == "f");

    Program producer = env.producer({"--drain", "--retry-for", "10"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    Program consumer = env.consumer({"--drain", "--schema-evolution", "add-columns", "--retry-for",
                                     "10", "-X", "session.timeout.ms=6000"});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
    const auto gap = exact_difference(env, kItems);
    CHECK_MESSAGE(gap.empty(), gap);
}
