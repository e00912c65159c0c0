// scripts/nightly-sync.sh is what an operator's cron job runs: its exit code decides whether
// anyone is paged, and its summary is what they read in the morning.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "harness/binaries.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

// One config file for the three programs, as a cron job would keep it.
std::filesystem::path write_config(TestEnv& env, const std::string& brokers) {
    const auto path = env.log_dir() / "nightly.toml";
    std::ofstream out(path);
    out << "source = \"" << env.source_url() << "\"\n"
        << "dest = \"" << env.dest_url() << "\"\n"
        << "brokers = \"" << brokers << "\"\n"
        << "topic = \"" << env.topic() << "\"\n"
        << "group = \"" << env.group() << "\"\n"
        << "retry-for = 2\n";
    return path;
}

RunResult nightly_sync(TestEnv& env, const std::filesystem::path& config) {
    const auto bin_dir = std::filesystem::path(kProducer).parent_path();
    return env.run(
        "/bin/bash",
        {repo_file("scripts/nightly-sync.sh").string(), "--config", config.string(), "--log-dir",
         (env.log_dir() / "nightly").string(), "--bin-dir", bin_dir.string()},
        120s);
}

std::vector<std::filesystem::path> sync_logs(TestEnv& env) {
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::directory_iterator(env.log_dir() / "nightly")) {
        const std::string name = entry.path().filename().string();
        if (std::regex_match(name, std::regex(R"(nightly-sync-\d{8}-\d{6}\.log)")))
            found.push_back(entry.path());
    }
    return found;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

void capture_accounts_with_changes(TestEnv& env) {
    exec(env.source_url(), "CREATE TABLE public.accounts (id int PRIMARY KEY, balance int)");
    const auto setup = env.setup({"--table", "public.accounts"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    // 40 inserts, 10 updates, 5 deletes: 55 changes.
    exec(env.source_url(), "INSERT INTO accounts SELECT g, g FROM generate_series(1, 40) g");
    exec(env.source_url(), "UPDATE accounts SET balance = balance + 1 WHERE id <= 10");
    exec(env.source_url(), "DELETE FROM accounts WHERE id > 35");
}

}  // namespace

TEST_CASE("a nightly sync publishes, applies and verifies, and says so on one screen") {
    TestEnv env;
    INFO(env.logs());
    capture_accounts_with_changes(env);

    const auto run = nightly_sync(env, write_config(env, env.brokers()));
    INFO(run.log);
    CHECK(run.exit_code == 0);
    CHECK(contains(run.out, "55 changes published"));
    CHECK(contains(run.out, "55 messages applied, 0 dead letters"));
    CHECK(contains(run.out, "OK: 1 tables compared, 0 differ"));
    CHECK(contains(run.out, "result: OK"));
    const auto lines = std::count(run.out.begin(), run.out.end(), '\n');
    CHECK(lines <= 24);

    // Everything the programs logged is in the dated file the summary names.
    const auto logs = sync_logs(env);
    REQUIRE(logs.size() == 1);
    const std::string log = read_file(logs.front());
    CHECK(contains(run.out, logs.front().string()));
    CHECK(contains(log, "stopped; published 55 changes"));
    CHECK(contains(log, "public.accounts: 35 rows, equal"));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM accounts") == "35");
}

TEST_CASE("a nightly sync exits 1 and names the table when the databases differ") {
    TestEnv env;
    INFO(env.logs());
    capture_accounts_with_changes(env);
    // Written on the destination behind pgtrail's back: only db_verify can notice.
    exec(env.dest_url(), "INSERT INTO accounts (id, balance) VALUES (1000, 1)");

    const auto run = nightly_sync(env, write_config(env, env.brokers()));
    INFO(run.log);
    CHECK(run.exit_code == 1);
    CHECK(contains(run.out, "55 messages applied"));
    CHECK(contains(run.out, "DIFFERENCES: 1 tables compared, 1 differ"));
    CHECK(contains(run.out, "public.accounts"));
    CHECK(contains(run.out, "FAILED with exit 1"));
}

TEST_CASE("a nightly sync stops at the first failure with that program's exit code") {
    TestEnv env;
    INFO(env.logs());
    capture_accounts_with_changes(env);

    // Nothing listens on port 1: the producer retries for 2 s, then exits 3.
    const auto run = nightly_sync(env, write_config(env, "127.0.0.1:1"));
    INFO(run.log);
    CHECK(run.exit_code == 3);
    CHECK(contains(run.out, "producer --drain"));
    CHECK(contains(run.out, "FAILED (exit 3)"));
    CHECK_FALSE(contains(run.out, "consumer --drain"));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM accounts") == "0");
    // Nothing was published, so nothing is lost: the log still holds every change.
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "55");
}

TEST_CASE("a second nightly sync does not start while one is running") {
    TestEnv env;
    INFO(env.logs());
    const auto log_dir = env.log_dir() / "nightly";
    std::filesystem::create_directories(log_dir);
    // flock(1) holds the lock while it runs the sync, as the first cron run would.
    const auto bin_dir = std::filesystem::path(kProducer).parent_path();
    const auto run =
        env.run("/usr/bin/flock", {(log_dir / "nightly-sync.lock").string(), "/bin/bash",
                                   repo_file("scripts/nightly-sync.sh").string(), "--log-dir",
                                   log_dir.string(), "--bin-dir", bin_dir.string()});
    INFO(run.log);
    CHECK(run.exit_code == 3);
    CHECK(contains(run.err, "another sync holds"));
}

// The commented example in config/ is what operators copy; every program must accept it.
// Connection flags on the command line win over the file's placeholders.
TEST_CASE("every program runs with the example config file from the repository") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(), "CREATE TABLE public.employees (emp_id int PRIMARY KEY, name text)");
    const std::string example = repo_file("config/pgtrail.example.toml").string();
    const Args source{"--source", env.source_url()};
    const Args dest{"--dest", env.dest_url()};
    const Args kafka{"--brokers", env.brokers(), "--topic", env.topic()};
    const auto with = [](std::initializer_list<Args> parts) {
        Args all;
        for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
        return all;
    };

    const auto setup = env.run(kDbSetup, with({{"--config", example}, source, dest, kafka}));
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(),
         "INSERT INTO employees SELECT g, 'e' || g FROM generate_series(1, 30) g");
    const auto producer =
        env.run(kProducer, with({{"--config", example, "--drain"}, source, kafka}));
    CHECK_MESSAGE(producer.exit_code == 0, producer.log);
    const auto consumer = env.run(
        kConsumer, with({{"--config", example, "--drain", "--group", env.group()}, dest, kafka}));
    CHECK_MESSAGE(consumer.exit_code == 0, consumer.log);
    const auto verify = env.run(kDbVerify, with({{"--config", example}, source, dest}));
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM employees") == "30");
}
