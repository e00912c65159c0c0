#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/cli_options.hpp"
#include "consumer/change.hpp"

namespace pgtrail {

// A message that could not be applied, kept with its reason and where it came from.
struct DeadLetter {
    MessageOrigin origin;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::string reason;
};

// Sends dead letters to the dead-letter topic and records them in cdc.dead_letters, so
// bad messages are visible and replayable while the good ones keep flowing. A letter counts
// as handled only once its row is in cdc.dead_letters, in the transaction that stores the
// offset past it; the Kafka copy is confirmed by each message's own delivery report before
// that transaction commits. Lanes call record() concurrently.
class DeadLetterSink {
public:
    DeadLetterSink(const KafkaSettings& settings, std::chrono::seconds retry_budget);
    ~DeadLetterSink();
    DeadLetterSink(const DeadLetterSink&) = delete;
    DeadLetterSink& operator=(const DeadLetterSink&) = delete;

    // Publishes `letters` to the dead-letter topic, waits for every one's delivery report,
    // then inserts them into cdc.dead_letters within the caller's batch transaction.
    // Throws TransientError when Kafka did not confirm them all (the caller retries the
    // batch, nothing recorded) and ShutdownRequested when asked to stop while waiting.
    // When the topic is missing or forbidden the letters are only inserted, and the
    // returned text explains it: the caller raises it as a UsageError once its transaction
    // committed, so the letters and the offsets past them are kept.
    [[nodiscard]] std::optional<std::string> record(pqxx::transaction_base& tx,
                                                    const std::vector<DeadLetter>& letters);

private:
    class DeliveryReports;
    // Empty when every letter was confirmed; the reason the topic refused them otherwise.
    std::optional<std::string> publish(const std::vector<DeadLetter>& letters);
    std::optional<std::string> topic_problem();

    std::unique_ptr<DeliveryReports> reports_;
    std::unique_ptr<RdKafka::Producer> producer_;
    std::string topic_;
    std::mutex topic_checked_mutex_;
    bool topic_checked_ = false;
};

}  // namespace pgtrail
