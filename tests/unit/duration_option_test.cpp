#include "common/duration_option.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace pgtrail;
using namespace std::chrono_literals;

TEST_CASE("durations with a unit or in plain seconds") {
    CHECK(parse_duration("7d") == std::chrono::seconds(7 * 86400));
    CHECK(parse_duration("12h") == std::chrono::seconds(12 * 3600));
    CHECK(parse_duration("30m") == std::chrono::seconds(1800));
    CHECK(parse_duration("90s") == 90s);
    CHECK(parse_duration("3600") == 3600s);
    CHECK(parse_duration("1s") == 1s);
}

TEST_CASE("malformed, zero, negative and absurd durations are refused") {
    for (const char* bad : {"", "d", "7x", "7 d", " 7d", "7d ", "-1", "-5m", "0", "0s", "1.5h",
                            "7dd", "1w", "99999999999999999999", "4000000d"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad).has_value());
    }
}

TEST_CASE("a duration is shown in its largest exact unit") {
    CHECK(format_duration(std::chrono::seconds(7 * 86400)) == "7d");
    CHECK(format_duration(7200s) == "2h");
    CHECK(format_duration(120s) == "2m");
    CHECK(format_duration(90s) == "90s");
}

namespace {
// Parses args as a program with one duration flag defaulting to 7 days.
std::chrono::seconds parsed(std::vector<std::string> args) {
    CLI::App app;
    std::chrono::seconds retention = std::chrono::seconds(7 * 86400);
    add_duration_option(app, "--retention", retention, "test");
    args.insert(args.begin(), "program");
    std::vector<const char*> argv;
    for (const auto& arg : args) argv.push_back(arg.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    return retention;
}
}  // namespace

TEST_CASE("the flag keeps its default, takes a duration, and refuses a bad one") {
    CHECK(parsed({}) == std::chrono::seconds(7 * 86400));
    CHECK(parsed({"--retention", "12h"}) == 12h);
    CHECK(parsed({"--retention=45"}) == 45s);
    CHECK_THROWS_AS(parsed({"--retention", "soon"}), CLI::ValidationError);
    CHECK_THROWS_AS(parsed({"--retention", "0"}), CLI::ValidationError);
}
