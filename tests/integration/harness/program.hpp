#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/child_process.hpp"

namespace pgtrail::it {

// One run of a pgtrail binary whose stdout and stderr land in files of the test's log dir,
// kept apart because the exit-code contract promises a one-line reason on stderr.
class Program {
public:
    // name: unique within log_dir; it names the log files.
    Program(std::string name, const std::filesystem::path& binary, std::vector<std::string> args,
            const std::filesystem::path& log_dir, const std::vector<std::string>& extra_env = {});

    // The exit code; on timeout the program is killed and std::runtime_error carries its log.
    int wait(std::chrono::milliseconds timeout);
    // SIGTERM, the way an operator stops a long-running program, then wait.
    int stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // SIGKILL, a crash at whatever the program was doing, then wait: 128 + 9.
    int kill();
    bool running() { return process_.running(); }
    // For /proc/PID: only meaningful while running() (the pid is reaped afterwards).
    pid_t pid() const { return process_.pid(); }

    std::string out() const;
    std::string err() const;
    // Whether stderr, where pgtrail logs, contains text.
    bool logged(const std::string& text) const;
    // Both streams with the command line, for failure messages.
    std::string log() const;

    const std::string& command_line() const { return command_line_; }

private:
    std::string name_;
    std::string command_line_;
    std::filesystem::path log_dir_;
    ChildProcess process_;
};

struct RunResult {
    int exit_code;
    std::string out;
    std::string err;
    std::string log;
};

// A program's output split into its lines, empty ones left out: what a one-line error
// check counts.
std::vector<std::string> output_lines(const std::string& text);

std::string read_file(const std::filesystem::path& path);
// What Program::log shows, also for programs whose Program object is gone.
std::string program_log(const std::filesystem::path& log_dir, const std::string& name,
                        const std::string& command_line);
// The last max_lines lines: program logs can be long and the end is what explains a failure.
std::string tail(const std::string& text, std::size_t max_lines);

}  // namespace pgtrail::it
