#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/errors.hpp"

namespace pgtrail {

// Whether waiting and trying again can cure a failure. The one place pgtrail decides it:
// PostgreSQL errors by SQLSTATE class (libpqxx's exception types), Kafka errors by
// librdkafka's error code (throw_kafka_error turns them into TransientError or a permanent
// error), pgtrail's own TransientError. Everything else is permanent.
bool is_transient(const std::exception& error);

// What a librdkafka error code calls for.
enum class KafkaFailure {
    transient,      // unreachable brokers, leaders moving, timeouts: retry
    configuration,  // a missing or forbidden topic, failed authentication: exit 2
    permanent,      // retrying cannot help (a message too large, a fatal client error): exit 3
};
KafkaFailure classify_kafka_error(RdKafka::ErrorCode err);

// Throws the exception classify_kafka_error calls for: TransientError, UsageError or
// RuntimeFailure, with `context` (what was being done, on which topic) before the reason.
[[noreturn]] void throw_kafka_error(RdKafka::ErrorCode err, const std::string& context);

// Capped exponential backoff (0.2 s doubling to 5 s) within a budget, with three outcomes
// for a failed attempt: try again, shutdown requested, budget spent. An outage runs from
// its first failure to the next success; the budget is spent when it lasted longer than
// --retry-for.
class RetryPolicy {
public:
    // `failing` says what does not work, for the log and the final error, e.g.
    // "cannot connect to destination (host=db1 dbname=app)".
    RetryPolicy(std::chrono::seconds budget, std::string failing);

    // Call from the catch block of a failed attempt. A permanent error is rethrown as it is.
    // A transient one goes to wait_out.
    void after_failure(const std::exception& error, std::string_view meanwhile = {});

    // Waits out a failure the caller decided is worth retrying. Warns at the first failure
    // of an outage (`reason`; `meanwhile` says what is held back, e.g. "offsets not
    // advanced"), then sleeps the next backoff step and returns: try again. Throws
    // ShutdownRequested when SIGINT/SIGTERM arrived (the sleep checks every 50 ms) and
    // RuntimeFailure "<failing>: still failing after N s (--retry-for M): <reason>" once
    // the outage, counted from `failing_since`, outlasted the budget.
    void wait_out(
        std::string_view reason, std::string_view meanwhile,
        std::chrono::steady_clock::time_point failing_since = std::chrono::steady_clock::now());

    // Call after an attempt succeeded: logs `recovered` when it ends an outage, and the next
    // failure starts a fresh budget.
    void after_success(std::string_view recovered = {});

    bool in_outage() const { return attempts_ > 0; }

private:
    std::chrono::seconds budget_;
    std::string failing_;
    std::chrono::steady_clock::time_point outage_started_;
    std::chrono::milliseconds delay_;
    int attempts_ = 0;
};

// Calls `attempt` until it succeeds, through a RetryPolicy: returns its result (recovered),
// or throws ShutdownRequested, the budget-spent RuntimeFailure or the first permanent error.
template <typename Attempt>
auto with_retries(std::chrono::seconds budget, std::string failing, Attempt&& attempt) {
    RetryPolicy policy(budget, std::move(failing));
    for (;;) {
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<Attempt&>>) {
                attempt();
                policy.after_success();
                return;
            } else {
                auto result = attempt();
                policy.after_success();
                return result;
            }
        } catch (const std::exception& e) {
            policy.after_failure(e);
        }
    }
}

}  // namespace pgtrail
