#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <memory>
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
// bad messages are visible and replayable while the good ones keep flowing.
class DeadLetterSink {
public:
    DeadLetterSink(const KafkaSettings& settings, std::string source_topic);
    ~DeadLetterSink();
    DeadLetterSink(const DeadLetterSink&) = delete;
    DeadLetterSink& operator=(const DeadLetterSink&) = delete;

    // Publishes to the dead-letter topic and waits for confirmation (throws TransientError),
    // then inserts into cdc.dead_letters within the caller's batch transaction.
    void record(pqxx::transaction_base& tx, const std::vector<DeadLetter>& letters);

private:
    std::unique_ptr<RdKafka::Producer> producer_;
    std::string source_topic_;
    std::string topic_;
};

}  // namespace pgtrail
