#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cli_options.hpp"
#include "common/kafka_topic.hpp"
#include "common/topic_routing.hpp"
#include "consumer/kafka_watch.hpp"
#include "consumer/offset_store.hpp"

namespace pgtrail {

// A Kafka group consumer whose positions come from the destination, not from Kafka: on
// every assignment it asks `claim_offsets` to claim the assigned partitions and say where to
// start each. Offsets are never reset silently (auto.offset.reset=error): a stored offset
// that no longer exists is data loss and ends the program with a message saying what is
// gone and how to heal. Only the eager rebalance protocol is accepted (see the .cpp).
// Brokers or a group coordinator that stop answering are an outage like any other, waited
// out within the retry budget (kafka_watch.hpp).
class KafkaSource {
public:
    using OffsetLoader = std::function<PartitionOffsets(const std::vector<TopicPartition>&)>;

    KafkaSource(const KafkaSettings& settings, const std::string& group,
                std::chrono::seconds retry_budget, OffsetLoader claim_offsets);
    ~KafkaSource();
    KafkaSource(const KafkaSource&) = delete;
    KafkaSource& operator=(const KafkaSource&) = delete;

    // Of every topic subscribed to (with a pattern, the topics it matches now). Throws
    // TransientError when no broker answers, UsageError when a topic is missing.
    std::map<TopicPartition, Watermarks> watermarks(std::chrono::milliseconds timeout);

    void subscribe();

    // The next message, or nullptr when none arrived within `timeout` (or while Kafka does
    // not answer). Throws RuntimeFailure when brokers or coordinator stayed silent for the
    // retry budget, ShutdownRequested when a signal arrived while waiting for them.
    std::unique_ptr<RdKafka::Message> next(std::chrono::milliseconds timeout);

    // Brokers or the group coordinator did not answer when last asked: a request to Kafka
    // now would only wait out its timeout.
    bool kafka_unreachable() const { return watch_ && watch_->in_outage(); }

    // Changes on every revocation: messages read under an older generation must not be
    // applied, their partitions may belong to another consumer now.
    std::uint64_t generation() const;

    // Tells the group coordinator what the destination committed, so Kafka's tools
    // (kafka-consumer-groups, lag exporters) see the group's progress. Informational and
    // asynchronous: the consumer always resumes from the destination's offsets.
    void commit_to_group(const PartitionOffsets& next_offsets);

private:
    class Rebalancer;
    std::string lost_messages(const RdKafka::Message& error);
    void subscribe_to(std::vector<std::string> topics);
    void rematch_pattern();
    Subscription subscription_;
    std::unique_ptr<Rebalancer> rebalancer_;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
    std::optional<KafkaWatch> watch_;  // from subscribe() on
    KafkaSettings settings_;
    std::vector<std::string> subscribed_;
    std::chrono::steady_clock::time_point subscribed_at_;
    std::string group_;
    std::chrono::seconds retry_budget_;
    std::uint64_t assignments_seen_ = 0;
};

}  // namespace pgtrail
