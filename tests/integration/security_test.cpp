// Credentials stay secret, the programs run with the least privileges they need, and TLS and
// SASL settings reach libpq and librdkafka untouched.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>

#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/exact_rows.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/proc_info.hpp"
#include "harness/replica.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

// The login role of the password tests: the test clusters trust every other role, but this
// one must authenticate with its password (scram-sha-256), so a run that succeeds proves the
// password got through.
constexpr const char* kUser = "pw_user";
constexpr const char* kPassword = "S3cretPw!";
constexpr const char* kPasswordInUri = "S3cretPw%21";
// What no output may contain: the password in either spelling.
constexpr const char* kSecret = "S3cretPw";
constexpr const char* kKafkaSecret = "KafkaS3cret";

const Args kFastJoin = {"-X", "session.timeout.ms=6000"};

Args with(std::initializer_list<Args> parts) {
    Args all;
    for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
    return all;
}

bool contains(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string last_line(std::string text) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    const auto start = text.rfind('\n');
    return start == std::string::npos ? text : text.substr(start + 1);
}

// Host, port and database of a harness URL, postgresql://postgres@HOST:PORT/DB.
struct Endpoint {
    std::string host;
    std::string port;
    std::string db;
};

Endpoint endpoint_of(const std::string& url) {
    const auto at = url.find('@');
    const auto slash = url.find('/', at);
    const auto colon = url.find(':', at);
    return {url.substr(at + 1, colon - at - 1), url.substr(colon + 1, slash - colon - 1),
            url.substr(slash + 1)};
}

std::string uri(const Endpoint& e, const std::string& user, const std::string& password = "",
                const std::string& query = "") {
    return "postgresql://" + user + (password.empty() ? "" : ":" + password) + "@" + e.host + ":" +
           e.port + "/" + e.db + query;
}

std::string conninfo(const Endpoint& e, const std::string& user, const std::string& password = "",
                     const std::string& more = "") {
    return "host=" + e.host + " port=" + e.port + " dbname=" + e.db + " user=" + user +
           (password.empty() ? "" : " password=" + password) + (more.empty() ? "" : " " + more);
}

// Creates kUser on the cluster (a superuser, so that privileges play no part here) and makes
// the cluster demand its password.
void require_password_auth(const std::string& superuser_url) {
    exec(superuser_url,
         std::string("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '") + kUser +
             "') THEN CREATE ROLE " + kUser + " LOGIN SUPERUSER PASSWORD '" + kPassword +
             "'; END IF; END$$");
    const std::string hba = query_value(superuser_url, "SHOW hba_file");
    const std::string rules = read_file(hba);
    const std::string rule = std::string("host all ") + kUser + " 127.0.0.1/32 scram-sha-256\n";
    if (!contains(rules, rule)) {
        std::ofstream out(hba, std::ios::trunc);  // keeps the file's owner and mode
        out << rule << rules;
    }
    exec(superuser_url, "SELECT pg_reload_conf()");
    const Endpoint e = endpoint_of(superuser_url);
    std::string last_error;
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            try {
                                pqxx::connection probe(uri(e, kUser));
                                return false;
                            } catch (const std::exception& error) {
                                last_error = error.what();
                                return contains(last_error, "password");
                            }
                        },
                        10s),
                    "connecting as ", kUser, " without a password: ", last_error);
    pqxx::connection with_password(uri(e, kUser, kPasswordInUri));
}

void require_no_secret(const std::string& text, const std::string& what,
                       const std::string& secret = kSecret) {
    CAPTURE(what);
    CHECK_MESSAGE(!contains(text, secret), "the secret appears in:\n", text);
}

// The command line `ps` shows for each running instance of binary.
std::vector<std::string> command_lines(const char* binary) {
    std::vector<std::string> out;
    for (pid_t pid : children_running(binary)) out.push_back(command_line_of(pid));
    return out;
}

void require_clean_command_lines(const char* binary, const std::string& flag,
                                 const std::string& secret = kSecret) {
    const auto found = command_lines(binary);
    REQUIRE_MESSAGE(!found.empty(), "no running ", binary);
    for (const auto& line : found) {
        CAPTURE(line);
        CHECK(contains(line, flag));  // the command line as a whole is still there
        CHECK_FALSE(contains(line, secret));
    }
}

}  // namespace

TEST_CASE("passwords in URIs and conninfo strings show in no log and no command line") {
    TestEnv env;
    INFO(env.logs());
    require_password_auth(env.source_url());
    require_password_auth(env.dest_url());
    const Endpoint src = endpoint_of(env.source_url());
    const Endpoint dst = endpoint_of(env.dest_url());
    const std::string source_uri = uri(src, kUser, kPasswordInUri);
    const std::string dest_conninfo = conninfo(dst, kUser, kPassword);
    const Args kafka = {"--brokers", env.brokers(), "--topic", env.topic()};

    const auto setup = env.run(
        kDbSetup, with({{"--source", source_uri, "--dest", dest_conninfo, "--demo"}, kafka}));
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    require_no_secret(setup.out + setup.err, "db_setup's output");

    Program producer = env.start(kProducer, with({{"--source", source_uri}, kafka}));
    Program consumer = env.start(
        kConsumer, with({{"--dest", dest_conninfo, "--group", env.group()}, kafka, kFastJoin}));
    exec(env.source_url(),
         "INSERT INTO employees (first_name, salary) VALUES ('a', 1), ('b', 2);"
         "UPDATE employees SET salary = 3 WHERE first_name = 'a'");
    const auto gap = wait_until_replicated(env, "public.employees");
    REQUIRE_MESSAGE(gap.empty(), gap);
    // Each program connected as the password role, not through some other way in.
    CHECK(query_value(env.source_url(), std::string("SELECT count(*) > 0 FROM pg_stat_activity "
                                                    "WHERE usename = '") +
                                            kUser + "' AND datname = '" + src.db + "'") == "t");
    CHECK(query_value(env.dest_url(), std::string("SELECT count(*) > 0 FROM pg_stat_activity "
                                                  "WHERE usename = '") +
                                          kUser + "' AND datname = '" + dst.db + "'") == "t");

    // What ps shows while they run.
    require_clean_command_lines(kProducer, "--source");
    require_clean_command_lines(kConsumer, "--dest");

    const auto verify = env.run(kDbVerify, {"--source", conninfo(src, kUser, kPassword), "--dest",
                                            uri(dst, kUser, kPasswordInUri)});
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    require_no_secret(verify.out + verify.err, "db_verify's output");

    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
    require_no_secret(producer.out() + producer.err(), "producer's output");
    require_no_secret(consumer.out() + consumer.err(), "consumer's output");
}

TEST_CASE("failed connections and bad connection strings do not reveal the password") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    Endpoint nowhere = endpoint_of(env.source_url());
    nowhere.port = "1";
    const std::string bad_uri = uri(nowhere, kUser, kPasswordInUri);
    const std::string bad_conninfo = conninfo(nowhere, kUser, kPassword);
    const std::string unparseable = conninfo(nowhere, kUser, kPassword, "no_such_option=1");
    const std::string unparseable_uri = uri(nowhere, kUser, kPasswordInUri, "?no_such_option=1");
    const Args kafka = {"--brokers", env.brokers(), "--topic", env.topic()};
    const Args retry = {"--retry-for", "1"};

    struct Run {
        std::string what;
        std::unique_ptr<Program> program;
        bool unreachable;  // exit 3 expected; a bad string may also be exit 2
    };
    std::vector<Run> runs;
    const auto start = [&](std::string what, const char* binary, const Args& args,
                           bool unreachable) {
        runs.push_back(
            {std::move(what), std::make_unique<Program>(env.start(binary, args)), unreachable});
    };
    for (const std::string& bad : {bad_uri, bad_conninfo}) {
        const std::string form = bad == bad_uri ? " (URI)" : " (conninfo)";
        start("producer" + form, kProducer, with({{"--source", bad}, kafka, retry}), true);
        start("consumer" + form, kConsumer,
              with({{"--dest", bad, "--group", env.group()}, kafka, retry, kFastJoin}), true);
        start("db_verify" + form, kDbVerify,
              with({{"--source", bad, "--dest", env.dest_url()}, retry}), true);
        start("db_setup" + form, kDbSetup,
              with({{"--source", env.source_url(), "--dest", bad, "--demo"}, kafka, retry}), true);
    }
    for (const std::string& bad : {unparseable, unparseable_uri}) {
        start("producer, unparseable: " + bad.substr(0, 4), kProducer,
              with({{"--source", bad}, kafka, retry}), false);
        start("db_verify, unparseable: " + bad.substr(0, 4), kDbVerify,
              with({{"--source", env.source_url(), "--dest", bad}, retry}), false);
    }
    // A SASL password given with -X is a password too.
    start("producer, SASL", kProducer,
          with({{"--source", env.source_url()},
                kafka,
                retry,
                {"-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanism=PLAIN", "-X",
                 "sasl.username=pgtrail", "-X", std::string("sasl.password=") + kKafkaSecret}}),
          true);

    for (auto& run : runs) {
        CAPTURE(run.what);
        const int code = run.program->wait(60s);
        const std::string log = run.program->log();
        if (run.unreachable) {
            CHECK_MESSAGE(code == 3, log);
        } else {
            CHECK_MESSAGE((code == 2 || code == 3), log);
        }
        CHECK_MESSAGE(!last_line(run.program->err()).empty(), log);
        // Program::log() shows the command line the test passed; only the output counts.
        const std::string output = run.program->out() + run.program->err();
        require_no_secret(output, run.what);
        require_no_secret(output, run.what, kKafkaSecret);
    }
}

TEST_CASE("PGPASSWORD, a password file and --config files supply the password") {
    TestEnv env;
    INFO(env.logs());
    require_password_auth(env.source_url());
    require_password_auth(env.dest_url());
    const Endpoint src = endpoint_of(env.source_url());
    const Endpoint dst = endpoint_of(env.dest_url());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(), "INSERT INTO employees (first_name, salary) VALUES ('a', 1), ('b', 2)");

    // PGPASSWORD: the URL names the user but holds no password.
    {
        Program producer = env.start(kProducer,
                                     {"--source", uri(src, kUser), "--brokers", env.brokers(),
                                      "--topic", env.topic(), "--drain", "--retry-for", "5"},
                                     {std::string("PGPASSWORD=") + kPassword});
        CHECK_MESSAGE(producer.wait(60s) == 0, producer.log());
        require_no_secret(producer.out() + producer.err(), "producer with PGPASSWORD");
    }

    // A password file (~/.pgpass, here through PGPASSFILE), mode 0600 or libpq ignores it.
    const auto pgpass = env.log_dir() / "pgpass";
    {
        std::ofstream out(pgpass);
        out << dst.host << ":" << dst.port << ":*:" << kUser << ":" << kPassword << "\n";
    }
    std::filesystem::permissions(
        pgpass, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    {
        Program consumer =
            env.start(kConsumer,
                      with({{"--dest", conninfo(dst, kUser), "--brokers", env.brokers(), "--topic",
                             env.topic(), "--group", env.group(), "--drain", "--retry-for", "5"},
                            kFastJoin}),
                      {"PGPASSFILE=" + pgpass.string()});
        CHECK_MESSAGE(consumer.wait(60s) == 0, consumer.log());
        require_no_secret(consumer.out() + consumer.err(), "consumer with a password file");
    }
    auto gap = wait_until_replicated(env, "public.employees", 0s);
    CHECK_MESSAGE(gap.empty(), gap);

    // One --config file with every program's settings, as an operator would keep it.
    const auto config = env.log_dir() / "pgtrail.toml";
    {
        std::ofstream out(config);
        out << "source = \"" << uri(src, kUser, kPasswordInUri) << "\"\n"
            << "dest = \"" << conninfo(dst, kUser, kPassword) << "\"\n"
            << "brokers = \"" << env.brokers() << "\"\n"
            << "topic = \"" << env.topic() << "\"\n";
    }
    exec(env.source_url(), "UPDATE employees SET salary = salary + 10");
    const auto producer = env.run(kProducer, {"--config", config.string(), "--drain"});
    CHECK_MESSAGE(producer.exit_code == 0, producer.log);
    const auto consumer = env.run(
        kConsumer,
        with({{"--config", config.string(), "--group", env.group(), "--drain"}, kFastJoin}));
    CHECK_MESSAGE(consumer.exit_code == 0, consumer.log);
    const auto verify = env.run(kDbVerify, {"--config", config.string()});
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    gap = wait_until_replicated(env, "public.employees", 0s);
    CHECK_MESSAGE(gap.empty(), gap);
    for (const auto* result : {&producer, &consumer, &verify})
        require_no_secret(result->out + result->err, "a program with --config");
}

TEST_CASE("producer and consumer run as the least-privilege roles of sql/roles.sql") {
    TestEnv env;
    INFO(env.logs());
    const auto roles_sql = repo_file("sql/roles.sql");
    REQUIRE_MESSAGE(std::filesystem::exists(roles_sql), roles_sql.string());
    const std::string roles = read_file(roles_sql);
    exec(env.source_url(), roles);
    exec(env.dest_url(), roles);
    exec(env.source_url(),
         "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prod_u') THEN "
         "CREATE ROLE prod_u LOGIN IN ROLE pgtrail_producer; END IF; END$$");
    exec(env.dest_url(),
         "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cons_u') THEN "
         "CREATE ROLE cons_u LOGIN IN ROLE pgtrail_consumer; END IF; END$$");
    // db_setup as the superuser: it grants the roles what they need.
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);

    const Endpoint src = endpoint_of(env.source_url());
    const Endpoint dst = endpoint_of(env.dest_url());
    const std::string producer_url = uri(src, "prod_u");
    const std::string consumer_url = uri(dst, "cons_u");
    Program producer = env.start(kProducer, {"--source", producer_url, "--brokers", env.brokers(),
                                             "--topic", env.topic(), "--retry-for", "10"});
    Program consumer =
        env.start(kConsumer, with({{"--dest", consumer_url, "--brokers", env.brokers(), "--topic",
                                    env.topic(), "--group", env.group(), "--retry-for", "10"},
                                   kFastJoin}));

    exec(env.source_url(),
         "INSERT INTO employees (first_name, city, salary) "
         "SELECT 'f' || i, 'c' || i, i FROM generate_series(1, 20) i;"
         "UPDATE employees SET salary = salary * 2 WHERE emp_id % 2 = 0;"
         "DELETE FROM employees WHERE emp_id % 5 = 0");
    const auto gap = wait_until_replicated(env, "public.employees");
    REQUIRE_MESSAGE(gap.empty(), gap);
    // A message that cannot apply is dead-lettered under that role too.
    produce_messages(env.brokers(), env.topic(),
                     {{0, 0, std::string("{\"emp_id\":1}"), "not JSON"}});
    CHECK_MESSAGE(eventually([&] {
                      return query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") ==
                             "1";
                  }),
                  "the dead letter was not recorded");
    CHECK(query_value(env.source_url(),
                      "SELECT count(*) > 0 FROM pg_stat_activity WHERE usename = 'prod_u'") == "t");
    CHECK(query_value(env.dest_url(),
                      "SELECT count(*) > 0 FROM pg_stat_activity WHERE usename = 'cons_u'") == "t");
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    CHECK(producer.running());
    CHECK(consumer.running());
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);

    // Nothing beyond what each needs.
    const std::vector<std::string> producer_denied = {
        "SELECT * FROM employees",
        "UPDATE employees SET salary = 0",
        "INSERT INTO cdc.log (relid, op) VALUES (1, 'c')",
        "UPDATE cdc.log SET op = 'd'",
        "DELETE FROM cdc.captured_tables",
        "DROP TABLE cdc.log",
        "CREATE TABLE cdc.mine (x int)",
        "DROP FUNCTION cdc.capture_row()",
        "ALTER TABLE employees DISABLE TRIGGER pgtrail_capture",
    };
    for (const auto& sql : producer_denied) {
        CAPTURE(sql);
        const std::string error = error_of(producer_url, sql);
        CHECK_MESSAGE((contains(error, "permission denied") || contains(error, "must be owner")),
                      error);
    }
    const std::vector<std::string> consumer_denied = {
        "DROP TABLE employees",
        "TRUNCATE employees",
        "ALTER TABLE employees ADD COLUMN x int",
        "DROP TABLE cdc.consumer_offsets",
        "CREATE TABLE cdc.mine (x int)",
        "DELETE FROM cdc.dead_letters",
        "UPDATE cdc.dead_letters SET reason = ''",
    };
    for (const auto& sql : consumer_denied) {
        CAPTURE(sql);
        const std::string error = error_of(consumer_url, sql);
        CHECK_MESSAGE((contains(error, "permission denied") || contains(error, "must be owner")),
                      error);
    }
    // The producer's own position, though, it may move.
    CHECK(error_of(producer_url, "UPDATE cdc.producer_position SET updated_at = now()").empty());
}

// Starts every call at once (each may spend its retry period), then checks each one's exit
// code and that the one-line reason on its last stderr line mentions `mentions`.
void require_refusals(TestEnv& env, const std::vector<std::pair<const char*, Args>>& calls,
                      const std::string& mentions, bool any_case) {
    std::vector<Program> programs;
    for (const auto& [binary, args] : calls) programs.push_back(env.start(binary, args));
    for (auto& program : programs) {
        const int code = program.wait(60s);
        CAPTURE(program.command_line());
        CHECK_MESSAGE((code == 2 || code == 3), program.log());
        const std::string reason = last_line(program.err());
        CHECK_MESSAGE(contains(any_case ? lowercase(reason) : reason, mentions), program.log());
    }
}

TEST_CASE("TLS and SASL settings reach librdkafka and libpq untouched") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    const Args kafka = {"--brokers", env.brokers(), "--topic", env.topic()};
    const Args retry = {"--retry-for", "2"};

    // librdkafka: TLS with a CA file that does not exist.
    const Args tls = {"-X", "security.protocol=ssl", "-X", "ssl.ca.location=/nonexistent/ca.pem"};
    require_refusals(
        env,
        {{kProducer, with({{"--source", env.source_url()}, kafka, tls, retry})},
         {kConsumer, with({{"--dest", env.dest_url(), "--group", env.group()}, kafka, tls, retry})},
         {kDbSetup, with({{"--source", env.source_url(), "--dest", env.dest_url(), "--demo"},
                          kafka,
                          tls,
                          retry})}},
        "ssl", true);

    // libpq: sslmode=require against a server without TLS, in a URI and in a conninfo string.
    const Endpoint src = endpoint_of(env.source_url());
    const Endpoint dst = endpoint_of(env.dest_url());
    require_refusals(
        env,
        {{kProducer,
          with({{"--source", uri(src, "postgres", "", "?sslmode=require")}, kafka, retry})},
         {kConsumer, with({{"--dest", conninfo(dst, "postgres", "", "sslmode=require"), "--group",
                            env.group()},
                           kafka,
                           retry})},
         {kDbVerify, with({{"--source", env.source_url(), "--dest",
                            conninfo(dst, "postgres", "", "sslmode=require")},
                           retry})}},
        "SSL", false);

    // librdkafka: SASL, which the dev broker does not speak; its password is a secret too.
    Program producer = env.start(
        kProducer,
        with({{"--source", env.source_url(), "--retry-for", "3"},
              kafka,
              {"-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanism=SCRAM-SHA-512", "-X",
               "sasl.username=pgtrail", "-X", std::string("sasl.password=") + kKafkaSecret}}));
    REQUIRE_MESSAGE(eventually([&] { return contains(producer.err(), "SASL"); }, 30s),
                    producer.log());
    if (producer.running()) require_clean_command_lines(kProducer, "sasl.username", kKafkaSecret);
    CHECK_MESSAGE(producer.wait(60s) == 3, producer.log());
    require_no_secret(producer.out() + producer.err(), "producer with SASL", kKafkaSecret);
}

// What the writer of the shadowing test defines, in two places the capture function would find
// them through the writer's search_path: public (CREATE granted, as PostgreSQL up to 14 grants
// it to everyone), where row_to_json(the table's row type) is a better match than the built-in
// row_to_json(record), and its own schema listed before pg_catalog, where functions and an
// operator with the built-ins' exact signatures win. Each one notes who ran it and tries to
// make its writer a superuser, then does what the built-in would, so the writes go on.
constexpr const char* kShadowingObjects = R"sql(
CREATE TABLE tools.ran (who text, what text);
GRANT INSERT ON tools.ran TO PUBLIC;
CREATE FUNCTION tools.escalate(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tools.ran VALUES (current_user, what);
    BEGIN
        EXECUTE 'ALTER ROLE mallory SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        NULL;
    END;
END $$;
CREATE FUNCTION public.row_to_json(r public.accounts) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tools.escalate('public.row_to_json(accounts)');
    RETURN pg_catalog.row_to_json(r);
END $$;
CREATE FUNCTION tools.row_to_json(r record) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tools.escalate('tools.row_to_json(record)');
    RETURN pg_catalog.row_to_json(r);
END $$;
CREATE FUNCTION tools.pg_current_xact_id() RETURNS xid8 LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tools.escalate('tools.pg_current_xact_id()');
    RETURN pg_catalog.pg_current_xact_id();
END $$;
CREATE FUNCTION tools.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tools.escalate('tools.clock_timestamp()');
    RETURN pg_catalog.clock_timestamp();
END $$;
CREATE FUNCTION tools.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tools.escalate('tools.=(text, text)');
    RETURN a OPERATOR(pg_catalog.=) b;
END $$;
CREATE OPERATOR tools.= (LEFTARG = text, RIGHTARG = text, FUNCTION = tools.text_eq);
)sql";

constexpr const char* kWriterPath = "SET search_path = tools, pg_catalog, public;";

TEST_CASE("a writer's shadowing functions and operators never run with pgtrail's rights") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env,
                  "CREATE TABLE public.accounts (id int PRIMARY KEY, owner text, "
                  "balance numeric(12,2), opened timestamptz)",
                  "public.accounts");
    // The writer: may write the captured table and create objects in public and its own
    // schema, nothing more.
    exec(env.source_url(),
         "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mallory') THEN "
         "CREATE ROLE mallory LOGIN; END IF; END$$;"
         "GRANT SELECT, INSERT, UPDATE, DELETE ON public.accounts TO mallory;"
         "GRANT CREATE ON SCHEMA public TO mallory;"
         "CREATE SCHEMA tools AUTHORIZATION mallory");
    const std::string mallory = uri(endpoint_of(env.source_url()), "mallory");
    exec(mallory, kShadowingObjects);

    exec(mallory,
         std::string(kWriterPath) +
             "INSERT INTO public.accounts VALUES (1, 'ann', 10.50, '2024-01-02 03:04:05+00'),"
             " (2, 'bob', -3.25, NULL), (3, 'cy', 0, 'infinity');");
    exec(mallory, std::string(kWriterPath) +
                      "UPDATE public.accounts SET balance = balance + 1, owner = owner || '!'"
                      " WHERE id <= 2;"
                      "DELETE FROM public.accounts WHERE id = 3;"
                      "INSERT INTO public.accounts VALUES (4, 'dee', 99.99, now())");

    // Nothing of the writer's ran as anyone but the writer, and the writer gained nothing.
    CHECK(query_value(env.source_url(),
                      "SELECT coalesce(string_agg(who || ' ran ' || what, '; '), 'nothing') "
                      "FROM tools.ran WHERE who <> 'mallory'") == "nothing");
    CHECK(query_value(env.source_url(),
                      "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'") == "f");
    // Nor may the writer call the capture function or put it on a table of its own.
    CHECK(query_value(env.source_url(),
                      "SELECT has_function_privilege('mallory', 'cdc.capture_row()', 'EXECUTE')") ==
          "f");

    // And its writes replicate exactly.
    Program producer = env.producer({"--drain", "--retry-for", "10"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    Program consumer = env.consumer({"--drain", "-X", "session.timeout.ms=6000"});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
    const auto gap = exact_difference(env, "public.accounts");
    CHECK_MESSAGE(gap.empty(), gap);
    CHECK(query_value(env.dest_url(),
                      "SELECT string_agg(id || ':' || owner || ':' || balance, "
                      "' ' ORDER BY id) FROM accounts") == "1:ann!:11.50 2:bob!:-2.25 4:dee:99.99");
}
