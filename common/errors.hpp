#pragma once

#include <stdexcept>
#include <string>

namespace pgtrail {

// Exit codes shared by all four programs (design.md).
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
// Loops catch it, back off and try again until their retry budget is spent.
class TransientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace pgtrail
