#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "harness/program.hpp"
#include "harness/services.hpp"
#include "harness/temp_dir.hpp"

namespace pgtrail::it {

using Args = std::vector<std::string>;

// One test case's private slice of the shared services: databases src_N and dst_N, topics
// tN (3 partitions) and tN_dlq, consumer group gN, and a directory for program logs. The
// group matters: a killed consumer stays a group member until its session times out and
// would stall the next test's rebalance.
class TestEnv {
public:
    // partitions: of topic tN; more than the default 3 give the dev broker, which keeps only
    // about 5 MB per partition, room for big workloads.
    explicit TestEnv(int partitions = 3);
    TestEnv(const TestEnv&) = delete;
    TestEnv& operator=(const TestEnv&) = delete;

    const std::string& source_db() const { return source_db_; }
    const std::string& source_url() const { return source_url_; }
    const std::string& dest_url() const { return dest_url_; }
    const std::string& brokers() const { return services().broker.bootstraps(); }
    const std::string& topic() const { return topic_; }
    std::string dlq_topic() const { return topic_ + "_dlq"; }
    const std::string& group() const { return group_; }

    // The programs with this test's connection flags followed by extra.
    RunResult setup(const Args& extra = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(60));
    RunResult verify(const Args& extra = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));
    Program producer(const Args& extra = {});
    Program consumer(const Args& extra = {});

    // Any binary with exactly these arguments and extra "NAME=value" environment variables,
    // for tests of flag and environment handling.
    Program start(const char* binary, const Args& args, const Args& extra_env = {});
    RunResult run(const char* binary, const Args& args,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60),
                  const Args& extra_env = {});

    // Where program logs go; tests may put their own files (scripts) there too.
    const std::filesystem::path& log_dir() const { return log_dir_.path(); }

    // The tail of every program this test started, for failure messages.
    std::string logs() const;

private:
    std::string source_db_;
    std::string source_url_;
    std::string dest_url_;
    std::string topic_;
    std::string group_;
    TempDir log_dir_;
    struct Started {
        std::string name;
        std::string command_line;
    };
    std::vector<Started> started_;
};

}  // namespace pgtrail::it
