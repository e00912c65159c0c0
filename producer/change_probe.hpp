#pragma once

#include <chrono>
#include <pqxx/pqxx>

namespace pgtrail {

// Waits until the log holds a committed change the stored position does not cover, asking
// PostgreSQL every `interval`. One cheap statement per poll; the log holds little beyond
// unpublished rows, so it costs next to nothing while idle. (LISTEN/NOTIFY would wake the
// producer without polling, but every notifying transaction takes a database-wide lock
// through its commit, which costs writers their group commit.)
class ChangeProbe {
public:
    explicit ChangeProbe(std::chrono::milliseconds interval) : interval_(interval) {}

    // Returns when there is something to publish, `timeout` passed, or shutdown was requested.
    void wait(pqxx::connection& conn, std::chrono::milliseconds timeout) const;

private:
    std::chrono::milliseconds interval_;
};

}  // namespace pgtrail
