#include "common/retry_policy.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <thread>

#include "common/cli_options.hpp"
#include "common/log.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

constexpr std::chrono::milliseconds kFirstDelay{200};
constexpr std::chrono::milliseconds kMaxDelay{5000};
constexpr std::chrono::milliseconds kSleepSlice{50};

// A failed connection attempt carries no SQLSTATE: libpq keeps the server's FATAL code
// (28P01 wrong password, 3D000 no such database, 28000 no such role) to itself and shows
// it only through PQping, which cannot tell those from 53300 (too many connections, worth
// retrying); client-side refusals such as "server does not support SSL" have no code at
// all. The message is the only signal libpq gives, so this is the one place that reads
// it: retrying cannot create a database or role, fix a password or add TLS to a server.
bool names_configuration_problem(std::string_view message) {
    return message.find("does not exist") != std::string_view::npos ||
           message.find("authentication failed") != std::string_view::npos ||
           message.find("no password supplied") != std::string_view::npos ||
           message.find("does not support SSL") != std::string_view::npos;
}

bool starts_with(const std::string& text, std::string_view prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

long long whole_seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

bool is_transient(const std::exception& error) {
    if (dynamic_cast<const TransientError*>(&error) != nullptr) return true;
    if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr)
        return !names_configuration_problem(error.what());
    // 40: serialization failures and deadlocks; the transaction can simply run again.
    if (dynamic_cast<const pqxx::transaction_rollback*>(&error) != nullptr) return true;
    // The connection broke during COMMIT; the batch's offsets tell whether it landed.
    if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) return true;
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
        const std::string& state = sql->sqlstate();
        // 08: connection exceptions; 40: transaction rollback (libpqxx throws most as the
        // types above, by SQLSTATE); 53: insufficient resources (disk full, out of memory, too
        // many connections); 57P0x: the server is shutting down or restarting.
        return starts_with(state, "08") || starts_with(state, "40") || starts_with(state, "53") ||
               starts_with(state, "57P0");
    }
    return false;
}

KafkaFailure classify_kafka_error(RdKafka::ErrorCode err) {
    switch (err) {
        case RdKafka::ERR__UNKNOWN_TOPIC:
        case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
        case RdKafka::ERR_TOPIC_EXCEPTION:
        case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
        case RdKafka::ERR_GROUP_AUTHORIZATION_FAILED:
        case RdKafka::ERR_CLUSTER_AUTHORIZATION_FAILED:
        case RdKafka::ERR__AUTHENTICATION:
        case RdKafka::ERR_SASL_AUTHENTICATION_FAILED:
        case RdKafka::ERR_UNSUPPORTED_SASL_MECHANISM:
        case RdKafka::ERR_ILLEGAL_SASL_STATE:
        case RdKafka::ERR__INVALID_ARG:
        case RdKafka::ERR_INVALID_CONFIG:
        case RdKafka::ERR_POLICY_VIOLATION:
            return KafkaFailure::configuration;
        case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
        case RdKafka::ERR_RECORD_LIST_TOO_LARGE:
        case RdKafka::ERR_INVALID_RECORD:
        case RdKafka::ERR__UNSUPPORTED_FEATURE:
        case RdKafka::ERR_UNSUPPORTED_VERSION:
            return KafkaFailure::permanent;
        default:
            return KafkaFailure::transient;
    }
}

void throw_kafka_error(RdKafka::ErrorCode err, const std::string& context) {
    const std::string message = context + ": " + RdKafka::err2str(err);
    switch (classify_kafka_error(err)) {
        case KafkaFailure::transient:
            throw TransientError(message);
        case KafkaFailure::configuration:
            throw UsageError(message);
        case KafkaFailure::permanent:
            break;
    }
    throw RuntimeFailure(message);
}

RetryPolicy::RetryPolicy(std::chrono::seconds budget, std::string failing)
    : budget_(budget), failing_(std::move(failing)), delay_(kFirstDelay) {}

void RetryPolicy::after_failure(const std::exception& error, std::string_view meanwhile) {
    if (!is_transient(error)) throw;
    const auto* transient = dynamic_cast<const TransientError*>(&error);
    wait_out(one_line(error.what()), meanwhile,
             transient != nullptr ? transient->failing_since() : std::chrono::steady_clock::now());
}

void RetryPolicy::wait_out(std::string_view reason, std::string_view meanwhile,
                           std::chrono::steady_clock::time_point failing_since) {
    const auto now = std::chrono::steady_clock::now();
    const bool first = attempts_++ == 0;
    outage_started_ =
        first ? std::min(failing_since, now) : std::min(outage_started_, failing_since);
    const std::string held = meanwhile.empty() ? std::string() : log::cat("; ", meanwhile);
    if (shutdown_requested())
        throw ShutdownRequested(
            log::cat("shutdown requested during an outage (", failing_, ": ", reason, ")", held));
    const auto deadline = outage_started_ + budget_;
    if (now >= deadline)
        throw RuntimeFailure(log::cat(failing_, ": still failing after ",
                                      whole_seconds(now - outage_started_), " s (--retry-for ",
                                      budget_.count(), "): ", reason));
    if (first)
        log::warn(failing_, ": ", reason, held, ", retrying for up to ", budget_.count(), " s");
    const auto wake = std::min(now + delay_, deadline);
    while (std::chrono::steady_clock::now() < wake) {
        if (shutdown_requested())
            throw ShutdownRequested(log::cat("shutdown requested during an outage (", failing_,
                                             ": ", reason, ")", held));
        std::this_thread::sleep_for(kSleepSlice);
    }
    delay_ = std::min(delay_ * 2, kMaxDelay);
}

void RetryPolicy::after_success(std::string_view recovered) {
    if (in_outage() && !recovered.empty()) log::info(recovered);
    attempts_ = 0;
    delay_ = kFirstDelay;
}

}  // namespace pgtrail
