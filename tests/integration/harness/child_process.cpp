#include "harness/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace pgtrail::it {
namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

int open_output(const std::filesystem::path& path) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
    return fd;
}

// Tells the log why the child never became the program; strerror is safe enough here
// because the child runs no other thread.
[[noreturn]] void fail_in_child(int err_fd, const char* what) {
    const char* reason = strerror(errno);
    (void)!write(err_fd, what, strlen(what));
    (void)!write(err_fd, ": ", 2);
    (void)!write(err_fd, reason, strlen(reason));
    (void)!write(err_fd, "\n", 1);
    _exit(127);
}

// Runs between fork and exec of a multithreaded parent: async-signal-safe calls only.
[[noreturn]] void exec_child(const SpawnSpec& spec, char* const* argv, char* const* envp,
                             int out_fd, int err_fd, pid_t parent) {
    auto fail = [err_fd](const char* what) { fail_in_child(err_fd, what); };
    if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0) fail("dup2");
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0) fail("stdin");
    // Its own process group, so a terminal's Ctrl-C reaches the test binary only and the
    // harness decides how children end.
    if (setpgid(0, 0) != 0) fail("setpgid");
    // The parent blocked every signal around fork, so a SIGTERM sent before exec waits here
    // instead of running the test binary's (doctest's) handler in the child. Defaults first,
    // then unblock: ignored and blocked signals would otherwise survive exec.
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) fail("sigprocmask");
    if (spec.run_as) {
        if (setgroups(0, nullptr) != 0) fail("setgroups");
        if (setgid(spec.run_as->gid) != 0) fail("setgid");
        if (setuid(spec.run_as->uid) != 0) fail("setuid");
    }
    // After the credential change, which clears it.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail("prctl");
    if (getppid() != parent) _exit(127);  // the parent died before the signal was armed
    if (chdir(spec.working_dir.c_str()) != 0) fail("chdir");
    execve(argv[0], argv, envp);
    fail_in_child(err_fd, argv[0]);
}

}  // namespace

std::vector<std::string> inherited_env() {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::strncmp(*e, "CDC_", 4) != 0) env.emplace_back(*e);
    }
    return env;
}

ChildProcess::ChildProcess(const SpawnSpec& spec) {
    if (spec.argv.empty()) throw std::invalid_argument("SpawnSpec without argv");
    // Everything that allocates happens before fork.
    auto argv = c_strings(spec.argv);
    auto envp = c_strings(spec.env);
    int out_fd = open_output(spec.stdout_path);
    int err_fd = open_output(spec.stderr_path);
    pid_t parent = getpid();
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_ = fork();
    if (pid_ == 0) exec_child(spec, argv.data(), envp.data(), out_fd, err_fd, parent);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    close(out_fd);
    close(err_fd);
    if (pid_ < 0) throw std::system_error(fork_errno, std::generic_category(), "fork");
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_code_(other.exit_code_) {}

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && !exit_code_) kill_and_wait();
}

bool ChildProcess::reap(bool block) {
    if (exit_code_) return true;
    int status = 0;
    pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == 0) return false;
    if (r < 0) throw std::system_error(errno, std::generic_category(), "waitpid");
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

bool ChildProcess::running() { return !reap(false); }

void ChildProcess::send(int signal_number) const {
    if (!exit_code_) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(false)) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
}

int ChildProcess::kill_and_wait() {
    send(SIGKILL);
    reap(true);
    return *exit_code_;
}

}  // namespace pgtrail::it
