#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pgtrail::it {

struct Credentials {
    uid_t uid;
    gid_t gid;
};

struct SpawnSpec {
    std::vector<std::string> argv;      // argv[0] is the executable's path
    std::vector<std::string> env;       // the child's whole environment, "NAME=value"
    std::filesystem::path working_dir;  // must be accessible to run_as
    std::filesystem::path stdout_path;  // appended to, so restarts keep earlier output
    std::filesystem::path stderr_path;
    std::optional<Credentials> run_as;  // drop root before exec
};

// The test process's environment without CDC_* variables, so a developer's shell settings
// cannot supply a flag that a test leaves out on purpose.
std::vector<std::string> inherited_env();

// A child process that cannot outlive the test: it carries PR_SET_PDEATHSIG=SIGKILL, so even
// when the test binary aborts, crashes or is killed by ctest's timeout, the kernel kills the
// child. The signal follows the thread that spawned the child, so spawn from the main thread
// (doctest runs every test case there).
class ChildProcess {
public:
    explicit ChildProcess(const SpawnSpec& spec);
    ~ChildProcess();
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;

    bool running();
    void send(int signal_number) const;
    pid_t pid() const { return pid_; }

    // The exit code, or 128 + signal number as a shell reports it; nullopt while still running
    // when the timeout expires.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    int kill_and_wait();

private:
    bool reap(bool block);

    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

}  // namespace pgtrail::it
