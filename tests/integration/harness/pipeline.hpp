#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

#include "harness/sql.hpp"
#include "harness/test_env.hpp"

namespace pgtrail::it {

// A consumer killed with -9 stays a group member until its session times out, and the dev
// broker makes the next member that joins wait for that. Tests that kill or add consumers
// shorten pgtrail's 10 s session to 3 s, with heartbeats every 0.5 s.
inline const Args kQuickRejoin = {"-X", "session.timeout.ms=3000", "-X",
                                  "heartbeat.interval.ms=500"};

// Creates a table on the source and captures it with db_setup.
inline void capture_table(TestEnv& env, const std::string& create_sql, const std::string& table) {
    exec(env.source_url(), create_sql);
    const auto setup = env.setup({"--table", table});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
}

// db_verify finds source and destination equal.
inline void require_verified(TestEnv& env) {
    const auto verify = env.verify();
    REQUIRE_MESSAGE(verify.exit_code == 0, verify.log);
}

// producer --drain, then consumer --drain (with `consumer_extra`, e.g. its --rules), each
// required to exit 0: everything logged so far is applied. No outage is expected, so a short
// retry period makes a fault fail fast.
inline void drain_or_fail(TestEnv& env, const Args& consumer_extra = {}) {
    Program producer = env.producer({"--drain", "--retry-for", "10"});
    REQUIRE_MESSAGE(producer.wait(std::chrono::seconds(60)) == 0, producer.log());
    Args args = {"--drain", "--retry-for", "10", "-X", "session.timeout.ms=6000"};
    args.insert(args.end(), consumer_extra.begin(), consumer_extra.end());
    Program consumer = env.consumer(args);
    REQUIRE_MESSAGE(consumer.wait(std::chrono::seconds(60)) == 0, consumer.log());
}

// A rules file (consumer --rules) with `text`, in the test's log directory.
inline std::filesystem::path write_rules(const TestEnv& env, const std::string& name,
                                         const std::string& text) {
    const auto path = env.log_dir() / name;
    std::ofstream(path) << text;
    return path;
}

// How often text occurs in the program's log (stderr).
inline std::size_t times_logged(const Program& program, const std::string& text) {
    const std::string log = program.err();
    std::size_t count = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++count;
    return count;
}

// Whether the consumer logged an assignment of at least one partition of topic.
inline bool assigned_partitions(const Program& consumer, const std::string& topic) {
    const std::string log = consumer.err();
    const std::string prefix = "assigned partitions of " + topic + ": ";
    for (auto at = log.find(prefix); at != std::string::npos; at = log.find(prefix, at + 1)) {
        if (log.compare(at + prefix.size(), 4, "none") != 0) return true;
    }
    return false;
}

}  // namespace pgtrail::it
