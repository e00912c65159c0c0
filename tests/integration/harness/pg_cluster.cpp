#include "harness/pg_cluster.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "harness/program.hpp"

namespace pgtrail::it {

using namespace std::chrono_literals;
namespace {

namespace fs = std::filesystem;

std::optional<Credentials> unprivileged_user() {
    if (geteuid() != 0) return std::nullopt;
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) throw std::runtime_error("running as root but no 'postgres' user exists");
    return Credentials{pw->pw_uid, pw->pw_gid};
}

// The kernel hands out a free port for port 0; postgres binds it right after we release it,
// and try_start notices when someone else was faster.
int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        int e = errno;
        close(fd);
        throw std::system_error(e, std::generic_category(), "bind to a free port");
    }
    close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace

// Debian installs each major version side by side; the newest one is what a developer runs.
std::filesystem::path postgres_bin_dir(std::string_view cluster) {
    std::string variable = "PGTRAIL_TEST_PG_BIN_";
    for (char c : cluster)
        variable += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (const char* chosen = std::getenv(variable.c_str()); !cluster.empty() && chosen != nullptr) {
        if (!fs::exists(fs::path(chosen) / "postgres"))
            throw std::runtime_error(variable + "=" + chosen + " holds no postgres binary");
        return chosen;
    }
    std::vector<std::pair<int, fs::path>> found;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql")) {
        const auto bin = entry.path() / "bin";
        if (!fs::exists(bin / "postgres")) continue;
        try {
            found.emplace_back(std::stoi(entry.path().filename().string()), bin);
        } catch (const std::exception&) {
            // not a version directory
        }
    }
    if (found.empty()) throw std::runtime_error("no /usr/lib/postgresql/*/bin/postgres found");
    return std::max_element(found.begin(), found.end())->second;
}

TempPgCluster::TempPgCluster(std::string name)
    : name_(std::move(name)),
      bin_dir_(postgres_bin_dir(name_)),
      dir_(("pgtrail-it-" + name_).c_str()),
      run_as_(unprivileged_user()) {
    if (run_as_) dir_.give_to(run_as_->uid, run_as_->gid);
    SpawnSpec initdb;
    initdb.argv = {(bin_dir_ / "initdb").string(),
                   "-D",
                   (dir_.path() / "data").string(),
                   "-U",
                   "postgres",
                   "--auth=trust",
                   "--encoding=UTF8",
                   "--locale=C",
                   "--no-sync"};
    initdb.env = inherited_env();
    initdb.working_dir = dir_.path();
    initdb.stdout_path = dir_.path() / "initdb.log";
    initdb.stderr_path = dir_.path() / "initdb.log";
    initdb.run_as = run_as_;
    ChildProcess process(initdb);
    auto code = process.wait_for(120s);
    if (code != 0) {
        throw std::runtime_error("initdb for " + name_ + " failed\n" +
                                 read_file(dir_.path() / "initdb.log"));
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = free_port();
        if (try_start()) return;
    }
    throw std::runtime_error("postgres " + name_ + " did not start\n" + log_tail());
}

TempPgCluster::~TempPgCluster() { stop(); }

std::string TempPgCluster::url(std::string_view dbname) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + std::string(dbname);
}

bool TempPgCluster::try_start() {
    SpawnSpec postgres;
    postgres.argv = {(bin_dir_ / "postgres").string(),
                     "-D",
                     (dir_.path() / "data").string(),
                     "-p",
                     std::to_string(port_),
                     "-k",
                     dir_.path().string(),
                     "-c",
                     "listen_addresses=127.0.0.1",
                     "-c",
                     "fsync=off",
                     "-c",
                     "full_page_writes=off"};
    postgres.env = inherited_env();
    postgres.working_dir = dir_.path();
    postgres.stdout_path = dir_.path() / "postgres.log";
    postgres.stderr_path = dir_.path() / "postgres.log";
    postgres.run_as = run_as_;
    postmaster_.emplace(postgres);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!postmaster_->running()) {
            postmaster_.reset();
            return false;
        }
        try {
            pqxx::connection probe(url("postgres"));
            return true;
        } catch (const pqxx::broken_connection&) {
            std::this_thread::sleep_for(50ms);  // polling readiness, not ordering events
        }
    }
    throw std::runtime_error("postgres " + name_ + " did not accept connections in 60 s\n" +
                             log_tail());
}

void TempPgCluster::start() {
    if (postmaster_) return;
    if (!try_start()) {
        throw std::runtime_error("postgres " + name_ + " did not restart on port " +
                                 std::to_string(port_) + "\n" + log_tail());
    }
}

void TempPgCluster::stop() {
    if (!postmaster_) return;
    postmaster_->send(SIGQUIT);  // what pg_ctl stop -m immediate sends
    if (!postmaster_->wait_for(10s)) postmaster_->kill_and_wait();
    postmaster_.reset();
}

std::string TempPgCluster::log_tail() const {
    return "---- postgres " + name_ + " log:\n" + tail(read_file(dir_.path() / "postgres.log"), 30);
}

}  // namespace pgtrail::it
