#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/cli_options.hpp"

namespace pgtrail {

// An idempotent Kafka producer (acks=all, Java-compatible murmur2 partitioning, lz4) that
// sends without waiting per message and tells, at the end of a batch, whether every
// message was confirmed.
class KafkaPublisher {
public:
    KafkaPublisher(const KafkaSettings& settings, std::string topic);
    ~KafkaPublisher();
    KafkaPublisher(const KafkaPublisher&) = delete;
    KafkaPublisher& operator=(const KafkaPublisher&) = delete;

    // Throws TransientError when no broker answers within `timeout`, UsageError when the
    // topic does not exist.
    void check_topic(std::chrono::milliseconds timeout);

    // Queues one message; blocks (serving delivery reports) while librdkafka's queue is full.
    void send(std::string_view key, std::string_view value);

    // Waits until every queued message is confirmed or failed. Throws TransientError if
    // any failed: the caller must not record the batch as published.
    void confirm_all();

    std::int64_t confirmed_total() const;

    // True once librdkafka raised a fatal error (e.g. the idempotence guarantee could not be
    // kept): this instance cannot send any more and must be replaced.
    bool failed_fatally() const;

private:
    class DeliveryTracker;
    std::unique_ptr<DeliveryTracker> tracker_;
    std::unique_ptr<RdKafka::Producer> producer_;
    std::string topic_;
};

}  // namespace pgtrail
