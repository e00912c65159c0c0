#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "harness/child_process.hpp"
#include "harness/temp_dir.hpp"

namespace pgtrail::it {

// The bin directory (postgres, initdb, pgbench) of the cluster named `cluster`:
// $PGTRAIL_TEST_PG_BIN_<CLUSTER> (e.g. PGTRAIL_TEST_PG_BIN_SOURCE=/usr/lib/postgresql/15/bin)
// when set, so one run can pair different major versions; otherwise Debian's newest installed
// PostgreSQL.
std::filesystem::path postgres_bin_dir(std::string_view cluster = "");

// A throwaway PostgreSQL cluster: initdb into a temp dir, postgres on a free loopback port,
// trust auth, superuser "postgres", fsync and full-page writes off for speed. Commits stay
// synchronous (with fsync off that costs only a write): an asynchronous commit would be lost
// by stop(), and outage tests must not mistake that for a pgtrail bug. The postmaster is a direct
// child of the test process (no pg_ctl, which would detach it), so ChildProcess's
// parent-death signal kills it if the test binary dies; its backends notice the postmaster's
// death and exit on their own. Only the temp dir is left behind after such a crash.
class TempPgCluster {
public:
    explicit TempPgCluster(std::string name);
    ~TempPgCluster();
    TempPgCluster(const TempPgCluster&) = delete;
    TempPgCluster& operator=(const TempPgCluster&) = delete;

    std::string url(std::string_view dbname) const;

    // Immediate shutdown (the "pg_ctl stop -m immediate" of an outage) and restart on the
    // same port, so URLs handed to programs stay valid.
    void stop();
    void start();

private:
    std::string log_tail() const;
    // False when the postmaster exited before accepting connections, e.g. the port was taken.
    bool try_start();

    std::string name_;
    std::filesystem::path bin_dir_;
    TempDir dir_;
    std::optional<Credentials> run_as_;
    int port_ = 0;
    std::optional<ChildProcess> postmaster_;
};

// The cluster stopped for the guard's lifetime (or until end()). Every test of a binary shares
// the clusters, so the cluster comes back even when an assertion ends the test early.
class ClusterOutage {
public:
    explicit ClusterOutage(TempPgCluster& cluster) : cluster_(&cluster) { cluster_->stop(); }
    ~ClusterOutage() {
        try {
            end();
        } catch (...) {
            // a destructor cannot report; the next test's connection will
        }
    }
    ClusterOutage(const ClusterOutage&) = delete;
    ClusterOutage& operator=(const ClusterOutage&) = delete;

    void end() {
        if (cluster_ != nullptr) std::exchange(cluster_, nullptr)->start();
    }

private:
    TempPgCluster* cluster_;
};

}  // namespace pgtrail::it
