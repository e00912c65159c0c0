#include "common/retry_policy.hpp"

#include <doctest/doctest.h>

#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/shutdown.hpp"

using namespace pgtrail;
using namespace std::chrono_literals;

TEST_CASE("transient or permanent: SQLSTATE classes and exception types, never message text") {
    CHECK(is_transient(pqxx::broken_connection("server closed the connection unexpectedly")));
    CHECK(is_transient(pqxx::sql_error("could not serialize", "", "40001")));
    CHECK(is_transient(pqxx::sql_error("deadlock detected", "", "40P01")));
    CHECK(is_transient(pqxx::sql_error("terminating connection", "", "57P01")));
    CHECK(is_transient(pqxx::sql_error("too many connections", "", "53300")));
    CHECK(is_transient(pqxx::sql_error("connection failure", "", "08006")));
    CHECK(is_transient(TransientError("broker unreachable")));
    // The same words in a permanent error's text do not make it transient.
    CHECK_FALSE(
        is_transient(pqxx::sql_error("connection lost? no: unique violation", "", "23505")));
    CHECK_FALSE(is_transient(pqxx::sql_error("permission denied", "", "42501")));
    CHECK_FALSE(is_transient(std::runtime_error("connection refused")));
    CHECK_FALSE(is_transient(ShutdownRequested("stopping")));
    // A failed connection attempt has no SQLSTATE; these cannot be cured by waiting.
    CHECK_FALSE(is_transient(pqxx::broken_connection("FATAL:  database \"nope\" does not exist")));
    CHECK_FALSE(is_transient(
        pqxx::broken_connection("FATAL:  password authentication failed for user \"x\"")));
}

TEST_CASE("Kafka error codes: retry, fix the configuration, or give up") {
    CHECK(classify_kafka_error(RdKafka::ERR__TRANSPORT) == KafkaFailure::transient);
    CHECK(classify_kafka_error(RdKafka::ERR__MSG_TIMED_OUT) == KafkaFailure::transient);
    CHECK(classify_kafka_error(RdKafka::ERR_NOT_LEADER_FOR_PARTITION) == KafkaFailure::transient);
    CHECK(classify_kafka_error(RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED) ==
          KafkaFailure::configuration);
    CHECK(classify_kafka_error(RdKafka::ERR__UNKNOWN_TOPIC) == KafkaFailure::configuration);
    CHECK(classify_kafka_error(RdKafka::ERR_MSG_SIZE_TOO_LARGE) == KafkaFailure::permanent);
    CHECK_THROWS_AS(throw_kafka_error(RdKafka::ERR__TRANSPORT, "t"), TransientError);
    CHECK_THROWS_AS(throw_kafka_error(RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED, "t"), UsageError);
    CHECK_THROWS_AS(throw_kafka_error(RdKafka::ERR_MSG_SIZE_TOO_LARGE, "t"), RuntimeFailure);
}

TEST_CASE("an outage that began before it was noticed counts from its start") {
    RetryPolicy policy(10s, "cannot publish");
    try {
        policy.wait_out("not confirmed", "position not advanced",
                        std::chrono::steady_clock::now() - 11s);
        FAIL("the budget was spent before the failure was noticed");
    } catch (const RuntimeFailure& e) {
        const std::string what = e.what();
        CHECK(what.find("cannot publish: still failing after 11 s (--retry-for 10)") !=
              std::string::npos);
        CHECK(what.find("not confirmed") != std::string::npos);
    }
}

TEST_CASE("a permanent error is rethrown as it is, a transient one retried") {
    RetryPolicy policy(60s, "cannot apply batch");
    try {
        throw pqxx::sql_error("permission denied", "", "42501");
    } catch (const std::exception& e) {
        CHECK_THROWS_AS(policy.after_failure(e), pqxx::sql_error);
    }
    int attempts = 0;
    const int result = with_retries(60s, "cannot read", [&] {
        if (++attempts < 2) throw TransientError("not yet");
        return 7;
    });
    CHECK(result == 7);
    CHECK(attempts == 2);
}

TEST_CASE("a shutdown request ends the wait with ShutdownRequested, not the budget's error") {
    RetryPolicy policy(60s, "cannot connect to destination");
    request_shutdown();
    CHECK_THROWS_AS(policy.wait_out("connection refused", "offsets not advanced"),
                    ShutdownRequested);
}

TEST_CASE("Kafka waits are bounded by the budget, at least 1 s, and -X still wins") {
    const KafkaProperties bounded = with_waits_bounded({{"acks", "all"}}, 90s);
    CHECK(bounded == KafkaProperties{{"acks", "all"},
                                     {"message.timeout.ms", "90000"},
                                     {"socket.timeout.ms", "60000"}});
    CHECK(with_waits_bounded({}, 0s) ==
          KafkaProperties{{"message.timeout.ms", "1000"}, {"socket.timeout.ms", "1000"}});
}
