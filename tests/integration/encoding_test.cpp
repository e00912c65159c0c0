// A production database is not the test cluster: its roles and databases carry their own
// defaults (timeouts, search_path, output styles, client_encoding) and its encoding may be
// anything PostgreSQL offers. What replicates must not depend on either.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/exact_rows.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

// The login role of the session-settings test: a superuser, like the role that runs db_setup
// in most installs, whose defaults in the test's databases are as hostile as they come.
constexpr const char* kPinnedRole = "pgtrail_pinned";

// The same URL as another login role (the harness's URLs are postgresql://postgres@...).
std::string as_role(const std::string& url, const std::string& role) {
    const std::string prefix = "postgresql://postgres@";
    REQUIRE(url.rfind(prefix, 0) == 0);
    return "postgresql://" + role + "@" + url.substr(prefix.size());
}

// The test's own connections read and write UTF-8 whatever the database's encoding, so the
// values it writes and compares are the ones in this file.
std::string utf8(const std::string& url) { return url + "?client_encoding=UTF8"; }

std::string database_of(const std::string& url) { return url.substr(url.rfind('/') + 1); }

// Drops the test's database and creates it again in `encoding` (with the C locale, which
// goes with every encoding).
void recreate_in_encoding(TempPgCluster& cluster, const std::string& url,
                          const std::string& encoding) {
    pqxx::connection conn(cluster.url("postgres"));
    pqxx::nontransaction tx(conn);
    const std::string name = tx.quote_name(database_of(url));
    tx.exec("DROP DATABASE " + name);
    tx.exec("CREATE DATABASE " + name + " ENCODING " + tx.quote(encoding) +
            " LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
}

// Every row as UTF-8 row_to_json text of the given columns, in the order of the text's bytes.
std::vector<std::string> utf8_rows(const std::string& url, const std::string& table,
                                   const std::string& columns) {
    return query_column(utf8(url), "SELECT row_to_json(r)::text FROM " + table +
                                       " t CROSS JOIN LATERAL (SELECT " + columns +
                                       ") r ORDER BY convert_to(row_to_json(r)::text, 'UTF8')");
}

void check_same_words(const TestEnv& env, const std::string& columns) {
    const auto source = utf8_rows(env.source_url(), "public.words", columns);
    const auto dest = utf8_rows(env.dest_url(), "public.words", columns);
    CHECK_MESSAGE(dest == source, "source:\n", lines(source), "destination:\n", lines(dest));
}

bool application_connected(const std::string& url, const std::string& name) {
    return query_value(url, "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = '" +
                                name + "' AND usename = '" + kPinnedRole + "'") == "t";
}

// A transaction holding an exclusive lock on a table, so a program that needs the table
// waits (longer than any timeout a role default sets) while the test looks at it.
class TableLock {
public:
    TableLock(const std::string& url, const std::string& table) : conn_(url), tx_(conn_) {
        tx_.exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
    }
    void release() { tx_.commit(); }

private:
    pqxx::connection conn_;
    pqxx::work tx_;
};

constexpr const char* kHostileDefaults = R"sql(
CREATE SCHEMA shadow;
-- Found before pg_catalog's by a search_path that names pg_catalog later: it would make
-- every row read the same to db_verify and every snapshot row empty.
CREATE FUNCTION shadow.row_to_json(record) RETURNS json
LANGUAGE plpgsql AS $$BEGIN RETURN '{}'::json; END$$;
)sql";

void set_hostile_defaults(const std::string& url) {
    exec(url, kHostileDefaults);
    const std::string db = "\"" + database_of(url) + "\"";
    for (const std::string setting :
         {"search_path = shadow, pg_catalog, public", "statement_timeout = '1ms'",
          "lock_timeout = '1ms'", "idle_in_transaction_session_timeout = '1ms'",
          "client_encoding = 'LATIN1'", "DateStyle = 'German, DMY'",
          "IntervalStyle = 'sql_standard'", "TimeZone = 'Pacific/Chatham'",
          "extra_float_digits = -15", "bytea_output = 'escape'"})
        exec(url,
             std::string("ALTER ROLE ") + kPinnedRole + " IN DATABASE " + db + " SET " + setting);
}

}  // namespace

TEST_CASE("every program pins its session whatever the role's and database's defaults") {
    TestEnv env;
    INFO(env.logs());
    for (const auto& url : {env.source_url(), env.dest_url()}) {
        exec(url, std::string("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '") +
                      kPinnedRole + "') THEN CREATE ROLE " + kPinnedRole +
                      " LOGIN SUPERUSER; END IF; END$$");
        set_hostile_defaults(url);
    }
    const std::string source = as_role(env.source_url(), kPinnedRole);
    const std::string dest = as_role(env.dest_url(), kPinnedRole);
    const Args connections = {"--source", source, "--dest", dest};
    const std::string table = "public.pinned";
    exec(utf8(env.source_url()),
         "CREATE TABLE public.pinned (id int PRIMARY KEY, note text, f float8, d date, "
         "iv interval, ts timestamptz, b bytea);"
         "INSERT INTO pinned VALUES (1, 'before capture é€', 0.1, '2024-02-03', '1 day 02:03:04', "
         "'2024-02-03 04:05:06.789+00', '\\x00ff')");

    // db_setup waits for the lock the test holds (no lock or statement timeout ends it), and
    // shows its name meanwhile.
    TableLock source_lock(env.source_url(), table);
    Program setup = env.start(
        kDbSetup, {"--source", source, "--dest", dest, "--brokers", env.brokers(), "--topic",
                   env.topic(), "--table", table, "--snapshot", "--retry-for", "10"});
    CHECK_MESSAGE(eventually([&] { return application_connected(env.source_url(), "db_setup"); }),
                  setup.log());
    source_lock.release();
    REQUIRE_MESSAGE(setup.wait(60s) == 0, setup.log());

    Program producer = env.start(kProducer, {"--source", source, "--brokers", env.brokers(),
                                             "--topic", env.topic(), "--retry-for", "10"});
    Program consumer = env.start(
        kConsumer, {"--dest", dest, "--brokers", env.brokers(), "--topic", env.topic(), "--group",
                    env.group(), "--retry-for", "10", "-X", "session.timeout.ms=6000"});
    exec(utf8(env.source_url()),
         "INSERT INTO pinned VALUES (2, 'ünïcødé ✓', 1e-300, '0044-03-15 BC', "
         "'-1 year 2 mons -3 days 04:05:06.5', '1999-12-31 23:59:59.999999-08', '\\x5c27');"
         "UPDATE pinned SET f = 0.30000000000000004, note = note || '!' WHERE id = 1");
    const std::string gap = wait_until_exact(env, table, 60s);
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK(application_connected(env.source_url(), "producer"));
    CHECK(application_connected(env.dest_url(), "consumer"));
    CHECK(producer.running());
    CHECK(consumer.running());

    TableLock dest_lock(env.dest_url(), table);
    Program verify = env.start(kDbVerify, connections);
    CHECK_MESSAGE(eventually([&] { return application_connected(env.dest_url(), "db_verify"); }),
                  verify.log());
    dest_lock.release();
    CHECK_MESSAGE(verify.wait(60s) == 0, verify.log());

    // A float one unit in the last place off: only full precision, and pg_catalog's
    // row_to_json, show it.
    exec(env.dest_url(), "UPDATE pinned SET f = 0.30000000000000010 WHERE id = 1");
    const auto differs = env.run(kDbVerify, connections);
    CHECK_MESSAGE(differs.exit_code == 1, differs.log);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("non-ASCII text replicates exactly between databases of different encodings") {
    struct Pair {
        const char* source;
        const char* dest;
        const char* extra_row = "";  // characters only this pair has
    };
    Pair pair{"UTF8", "LATIN1"};
    SUBCASE("UTF8 to LATIN1") { pair = {"UTF8", "LATIN1"}; }
    SUBCASE("LATIN1 to UTF8") { pair = {"LATIN1", "UTF8"}; }
    SUBCASE("LATIN1 to LATIN9") { pair = {"LATIN1", "LATIN9"}; }
    // WIN1252's '€' (0x80) sorts before 'é' by the server's bytes, after it in UTF-8.
    SUBCASE("WIN1252 to UTF8") {
        pair = {"WIN1252", "UTF8", ", ('€uro', 'Šš', 'Œœ', '{Ÿ}', '\"‰\"', '\"—\"')"};
    }
    CAPTURE(pair.source);
    CAPTURE(pair.dest);
    TestEnv env;
    INFO(env.logs());
    recreate_in_encoding(services().source, env.source_url(), pair.source);
    recreate_in_encoding(services().dest, env.dest_url(), pair.dest);

    // Characters every one of these encodings has.
    const std::string columns = "t.name, t.note, t.code, t.tags, t.doc, t.docb";
    exec(utf8(env.source_url()),
         "CREATE TABLE public.words (name text PRIMARY KEY, note varchar(40), code char(4), "
         "tags text[], doc json, docb jsonb);"
         "INSERT INTO words VALUES ('é', 'café crème', 'ñü', '{ß,ø,\"å æ\"}', "
         "'{\"ÿ\": \"¿¡×÷\"}', '{\"Ø\": [\"µ\", \"±\"]}'), "
         "('z', 'plain', 'abcd', '{}', '[]', '{}'), ('Ä', 'Übergrößenträger', 'ÀÉÎÕ', "
         "'{NULL}', '\"°\"', '\"²\"')" +
             std::string(pair.extra_row));
    // Keys without a collation: db_verify hashes key ranges, which must agree across encodings.
    exec(utf8(env.source_url()),
         "CREATE TABLE public.numbered (id int PRIMARY KEY, note text);"
         "INSERT INTO numbered SELECT g, 'nº ' || g || ' çà' FROM generate_series(1, 50) g");
    const auto setup =
        env.setup({"--table", "public.words", "--table", "public.numbered", "--snapshot"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    drain_or_fail(env);
    check_same_words(env, columns);

    exec(utf8(env.source_url()),
         "UPDATE words SET note = 'déjà vu', tags = tags || '{Ç}' WHERE name = 'é';"
         "UPDATE words SET name = 'Å' WHERE name = 'Ä';"
         "DELETE FROM words WHERE name = 'z';"
         "INSERT INTO words VALUES ('ð', 'þorn', 'ðþ', '{í}', '{\"í\": 1}', '{\"ó\": 2}')");
    drain_or_fail(env);
    check_same_words(env, columns);
    const std::string names =
        "SELECT string_agg(name, ',' ORDER BY convert_to(name, 'UTF8')) FROM words";
    CHECK(query_value(utf8(env.dest_url()), names) == query_value(utf8(env.source_url()), names));
    CHECK(query_value(utf8(env.dest_url()),
                      "SELECT count(*) FROM words WHERE name IN ('Å', 'é', "
                      "'ð') AND note IN ('Übergrößenträger', 'déjà vu', "
                      "'þorn')") == "3");
    // db_verify compares across the encodings too.
    require_verified(env);
    exec(utf8(env.dest_url()),
         "UPDATE words SET note = 'déjà vû' WHERE name = 'é';"
         "UPDATE numbered SET note = 'nº 7 çá' WHERE id = 7");
    const auto verify = env.verify({"--chunk-rows", "10"});
    CHECK_MESSAGE(verify.exit_code == 1, verify.log);
    CHECK_MESSAGE(verify.out.find("1 with different values e.g. {\"id\":7}") != std::string::npos,
                  verify.log);
    CHECK_MESSAGE(
        verify.out.find("1 with different values e.g. {\"name\":\"é\"}") != std::string::npos,
        verify.log);
}

TEST_CASE("a character the destination's encoding lacks is dead-lettered; the rest flows") {
    TestEnv env;
    INFO(env.logs());
    recreate_in_encoding(services().dest, env.dest_url(), "LATIN1");
    exec(env.source_url(),
         "CREATE TABLE public.notes (id int PRIMARY KEY, title text, body text, doc jsonb)");
    const auto setup = env.setup({"--table", "public.notes"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    Program consumer = env.consumer({"-X", "session.timeout.ms=6000"});
    Program producer = env.producer();

    // One transaction, so the rejected rows share a batch with good ones.
    exec(env.source_url(),
         "INSERT INTO notes VALUES (1, 'fine', 'café', '{}'), (2, 'euro', 'costs 5 €', '{}'),"
         "(3, 'also fine', 'naïve', '{\"a\": \"ß\"}'), (4, 'kanji', 'plain', '{\"k\": \"日本\"}')");
    const auto ids = [&] {
        return query_value(env.dest_url(),
                           "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM notes");
    };
    REQUIRE_MESSAGE(eventually([&] { return ids() == "1,3"; }, 60s), ids(), "\n", consumer.log());
    REQUIRE_MESSAGE(eventually([&] {
                        return query_value(env.dest_url(),
                                           "SELECT count(*) FROM cdc.dead_letters") == "2";
                    }),
                    consumer.log());
    const auto reasons = query_column(
        env.dest_url(), "SELECT reason FROM cdc.dead_letters ORDER BY reason COLLATE \"C\"");
    REQUIRE(reasons.size() == 2);
    CHECK_MESSAGE(reasons[0].find("public.notes, key {\"id\":2}, column body") != std::string::npos,
                  reasons[0]);
    CHECK_MESSAGE(reasons[1].find("public.notes, key {\"id\":4}, column doc") != std::string::npos,
                  reasons[1]);
    CHECK(read_all_messages(env.brokers(), env.dlq_topic()).size() >= 2);

    // Later changes keep flowing, also to the rows whose earlier change was rejected.
    exec(env.source_url(),
         "INSERT INTO notes VALUES (5, 'later', 'ok', '{}');"
         "UPDATE notes SET body = 'costs 5 EUR' WHERE id = 2");
    CHECK_MESSAGE(eventually([&] { return ids() == "1,2,3,5"; }, 60s), ids());
    CHECK(query_value(utf8(env.dest_url()), "SELECT body FROM notes WHERE id = 3") == "naïve");
    CHECK(producer.running());
    CHECK(consumer.running());
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}
