// Bad usage must fail fast and say why in one line (exit 2), so an operator or a script can
// tell it apart from a runtime failure (exit 3).
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "harness/binaries.hpp"
#include "harness/program.hpp"
#include "harness/sql.hpp"
#include "harness/temp_dir.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

struct BadCall {
    std::string what;
    const char* binary;
    Args args;
    std::string reason_mentions;
    // Flags are checked before any work, so nothing but the reason may be printed; a bad
    // table is found after connecting, when progress lines may precede the reason.
    bool only_line;
};

}  // namespace

TEST_CASE("bad usage exits 2 with a one-line reason on stderr") {
    TestEnv env;
    exec(
        env.source_url(),
        "CREATE TABLE public.nopk (a int, b text); CREATE TABLE public.haspk (id int PRIMARY KEY)");
    const Args source = {"--source", env.source_url()};
    const Args dest = {"--dest", env.dest_url()};
    const Args kafka = {"--brokers", env.brokers(), "--topic", env.topic()};
    const auto with = [](std::initializer_list<Args> parts) {
        Args all;
        for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
        return all;
    };

    const std::vector<BadCall> calls = {
        {"db_setup, unknown flag", kDbSetup, with({source, dest, kafka, {"--bogus-flag"}}),
         "bogus-flag", true},
        {"producer, unknown flag", kProducer, with({source, kafka, {"--bogus-flag"}}), "bogus-flag",
         true},
        {"consumer, unknown flag", kConsumer, with({dest, kafka, {"--bogus-flag"}}), "bogus-flag",
         true},
        {"db_verify, unknown flag", kDbVerify, with({source, dest, {"--bogus-flag"}}), "bogus-flag",
         true},
        {"db_setup without --source", kDbSetup, with({dest, kafka}), "source", true},
        {"producer without --source", kProducer, kafka, "source", true},
        {"consumer without --dest", kConsumer, kafka, "dest", true},
        {"db_verify without --source", kDbVerify, dest, "source", true},
        {"db_setup --partitions 0", kDbSetup, with({source, dest, kafka, {"--partitions", "0"}}),
         "partitions", true},
        {"db_setup, table without a primary key", kDbSetup,
         with({source, dest, kafka, {"--table", "public.haspk", "--table", "public.nopk"}}), "nopk",
         false},
        {"db_setup, table that does not exist", kDbSetup,
         with({source, dest, kafka, {"--table", "public.does_not_exist"}}), "does_not_exist",
         false},
    };
    for (const auto& call : calls) {
        CAPTURE(call.what);
        const auto result = env.run(call.binary, call.args, 30s);
        INFO(result.log);
        CHECK(result.exit_code == 2);
        const auto lines = output_lines(result.err);
        REQUIRE_FALSE(lines.empty());
        if (call.only_line) CHECK(lines.size() == 1);
        CHECK(lines.back().find(call.reason_mentions) != std::string::npos);
    }
}

TEST_CASE("a usage error never prints a password it quotes") {
    // CLI11 quotes stray arguments back, and CLI11 2.4 also the values of a --config file's
    // keys the program has no option for (here --dest, a consumer flag).
    constexpr const char* kSecret = "UsageErrorSecret42";
    const TempDir logs("pgtrail-usage-secret");
    const auto shared_config = logs.path() / "shared.toml";
    std::ofstream(shared_config) << "dest = \"host=db password=" << kSecret << "\"\n";
    const Args valid = {"--source", "host=db", "--brokers", "localhost:1"};
    const std::vector<Args> strays = {
        {std::string("host=db password=") + kSecret},
        {std::string("host=db password='a ") + kSecret + "'"},
        {"postgresql://u@db/x", std::string("postgresql://app:") + kSecret + "@db/x"},
        {"--config", shared_config.string(), "stray"},
    };
    int n = 0;
    for (const auto& stray : strays) {
        Args args = valid;
        args.insert(args.end(), stray.begin(), stray.end());
        Program producer("producer-" + std::to_string(n++), kProducer, args, logs.path());
        const int exit_code = producer.wait(30s);
        INFO(producer.command_line());
        CHECK(exit_code == 2);
        CHECK(producer.logged("not expected"));
        CHECK(producer.err().find(kSecret) == std::string::npos);
        CHECK(producer.out().find(kSecret) == std::string::npos);
    }
}
