#include "common/config_file.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using pgtrail::ProgramConfigFile;

namespace {

struct Flags {
    std::string source;
    int port = 0;
    std::string group = "default";
};

// Parses the file as `program` would, with only --config given on the command line.
Flags parse_as(const std::string& program, const std::string& file_text) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("pgtrail-config-test-" + std::to_string(::getpid()) + ".toml");
    std::ofstream(path) << file_text;
    Flags flags;
    CLI::App app{"test"};
    app.set_config("--config");
    app.add_option("--source", flags.source);
    app.add_option("--metrics-port", flags.port);
    if (program == "consumer") app.add_option("--group", flags.group);
    app.config_formatter(std::make_shared<ProgramConfigFile>(program, app));
    app.parse(std::vector<std::string>{path.string(), "--config"});
    std::filesystem::remove(path);
    return flags;
}

constexpr const char* kShared = R"(
source = "host=db1"
metrics-port = 1
group = "top"
[producer]
metrics-port = 9187
[consumer]
metrics-port = 9188
group = "nightly"
)";

}  // namespace

TEST_CASE("a program's own section wins over the top level, other sections are ignored") {
    const Flags producer = parse_as("producer", kShared);
    CHECK(producer.source == "host=db1");
    CHECK(producer.port == 9187);

    const Flags consumer = parse_as("consumer", kShared);
    CHECK(consumer.source == "host=db1");
    CHECK(consumer.port == 9188);
    CHECK(consumer.group == "nightly");

    const Flags verify = parse_as("db_verify", kShared);
    CHECK(verify.port == 1);
}

TEST_CASE("a file without sections applies to every program") {
    const Flags flags = parse_as("db_setup", "source = \"host=db2\"\nmetrics-port = 7\n");
    CHECK(flags.source == "host=db2");
    CHECK(flags.port == 7);
}

TEST_CASE("keys the program has no option for are ignored, at the top level and in its section") {
    // CLI11 2.4 would report such a key's value as an unexpected argument.
    const Flags flags = parse_as("producer",
                                 "dest = \"host=db3 password=secret\"\ngroup = \"top\"\n"
                                 "[producer]\nmetrics-port = 5\nno-such-flag = 1\n");
    CHECK(flags.port == 5);
    CHECK(flags.group == "default");
}
