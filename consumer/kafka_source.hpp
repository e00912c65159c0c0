#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/cli_options.hpp"
#include "common/kafka_topic.hpp"
#include "consumer/offset_store.hpp"

namespace pgtrail {

// A Kafka group consumer whose positions come from the destination, not from Kafka: on
// every assignment it asks `claim_offsets` to claim the assigned partitions and say where to
// start each. Offsets are never reset silently (auto.offset.reset=error): a stored offset
// that no longer exists is data loss and ends the program with a message saying what is
// gone and how to heal. Only the eager rebalance protocol is accepted (see the .cpp).
class KafkaSource {
public:
    using OffsetLoader = std::function<PartitionOffsets(const std::vector<std::int32_t>&)>;

    KafkaSource(const KafkaSettings& settings, const std::string& group,
                OffsetLoader claim_offsets);
    ~KafkaSource();
    KafkaSource(const KafkaSource&) = delete;
    KafkaSource& operator=(const KafkaSource&) = delete;

    // Throws TransientError when no broker answers, UsageError when the topic is missing.
    std::map<std::int32_t, Watermarks> watermarks(std::chrono::milliseconds timeout);

    void subscribe();

    // The next message, or nullptr when none arrived within `timeout`.
    std::unique_ptr<RdKafka::Message> next(std::chrono::milliseconds timeout);

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
    std::unique_ptr<Rebalancer> rebalancer_;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
    std::string topic_;
    std::string group_;
};

}  // namespace pgtrail
