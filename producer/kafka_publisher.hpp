#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/cli_options.hpp"

namespace pgtrail {

// An idempotent Kafka producer (acks=all, Java-compatible murmur2 partitioning, lz4) that
// sends without waiting per message and tells, at the end of a batch, whether every
// message was confirmed. No wait outlasts the retry budget (with_waits_bounded).
class KafkaPublisher {
public:
    KafkaPublisher(const KafkaSettings& settings, std::chrono::seconds retry_budget);
    ~KafkaPublisher();
    KafkaPublisher(const KafkaPublisher&) = delete;
    KafkaPublisher& operator=(const KafkaPublisher&) = delete;

    // Asks the brokers once per topic and instance: throws TransientError when no broker
    // answers within `timeout`, UsageError when the topic does not exist.
    void check_topic(const std::string& topic, std::chrono::milliseconds timeout);

    // Queues one message; blocks (serving delivery reports) while librdkafka's queue is full,
    // until a delivery fails (thrown as confirm_all does) or a shutdown is requested
    // (ShutdownRequested).
    void send(const std::string& topic, std::string_view key, std::string_view value);

    // Queues one null-value record carrying `header_value` under `header_name` to every
    // partition of the topic (as the metadata lists them within `timeout`), each like send().
    // Returns how many it queued.
    std::size_t send_to_every_partition(const std::string& topic, std::string_view key,
                                        std::string_view header_name, std::string_view header_value,
                                        std::chrono::milliseconds timeout);

    // Waits until every queued message, of every topic, is confirmed or failed: one
    // position covers all topics, so the caller must not record
    // the batch as published unless it returns. A failed delivery throws what its error
    // code calls for (retry_policy.hpp): TransientError dated from when the first failed
    // message was sent, so the time librdkafka spent retrying it counts against the
    // budget; so does Kafka confirming nothing for the whole budget. A shutdown request
    // gives the batch one more second, then ShutdownRequested.
    void confirm_all();

    std::int64_t confirmed_total() const;

    // True once librdkafka raised a fatal error (e.g. the idempotence guarantee could not be
    // kept): this instance cannot send any more and must be replaced.
    bool failed_fatally() const;

private:
    class DeliveryTracker;
    void produce(const std::string& topic, std::int32_t partition, std::string_view key,
                 std::string_view value, std::unique_ptr<RdKafka::Headers> headers);
    void throw_failures();
    void throw_if_stalled() const;
    std::unique_ptr<DeliveryTracker> tracker_;
    std::unique_ptr<RdKafka::Producer> producer_;
    std::set<std::string> checked_topics_;
    std::set<std::string> sent_topics_;  // since the last confirmed batch, for errors
    std::chrono::seconds budget_;
    std::chrono::steady_clock::time_point last_send_;
};

}  // namespace pgtrail
