#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace pgtrail {

// Exit codes shared by all four programs (README "Configuration").
enum ExitCode : int {
    kExitOk = 0,
    kExitDifferences = 1,
    kExitUsage = 2,
    kExitFailure = 3,
};

// Bad flags, bad configuration, missing tables: the user must change something. Exit 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Something failed at run time and retrying did not cure it. Exit 3.
class RuntimeFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A failure worth retrying (connection lost, broker unreachable, undelivered messages).
// The retry policy (retry_policy.hpp) backs off and tries again until its budget is spent.
// `failing_since` is when the failure began when that lies before the moment it was
// noticed: a delivery report that Kafka never confirmed a message arrives only after
// librdkafka retried it for message.timeout.ms, and that time counts against the budget.
class TransientError : public std::runtime_error {
public:
    explicit TransientError(
        const std::string& what,
        std::chrono::steady_clock::time_point failing_since = std::chrono::steady_clock::now())
        : std::runtime_error(what), failing_since_(failing_since) {}

    std::chrono::steady_clock::time_point failing_since() const { return failing_since_; }

private:
    std::chrono::steady_clock::time_point failing_since_;
};

// SIGINT/SIGTERM arrived while a program was waiting out a failure or for Kafka to confirm:
// what it was doing is abandoned unrecorded (a batch not applied, a position not stored)
// and done again at the next start. Loops catch it to log their "stopped" line; the
// program exits 0.
class ShutdownRequested : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace pgtrail
