#include "common/kafka_topic.hpp"

#include <algorithm>
#include <memory>

#include "common/errors.hpp"
#include "common/retry_policy.hpp"

namespace pgtrail {
namespace {

// The brokers' metadata of one topic, or of all of them when `topic` is null.
std::unique_ptr<RdKafka::Metadata> metadata_of(RdKafka::Handle& client, RdKafka::Topic* topic,
                                               std::chrono::milliseconds timeout) {
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode err =
        client.metadata(topic == nullptr, topic, &raw, static_cast<int>(timeout.count()));
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (err != RdKafka::ERR_NO_ERROR)
        throw TransientError("Kafka brokers unreachable: " + RdKafka::err2str(err));
    return metadata;
}

}  // namespace

std::vector<std::int32_t> topic_partitions(RdKafka::Handle& client, const std::string& topic,
                                           std::chrono::milliseconds timeout) {
    std::string error;
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&client, topic, nullptr, error));
    if (!handle) throw UsageError("Kafka topic " + topic + ": " + error);
    const auto metadata = metadata_of(client, handle.get(), timeout);
    std::vector<std::int32_t> partitions;
    for (const auto* t : *metadata->topics()) {
        if (t->topic() != topic || t->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) continue;
        if (t->err() != RdKafka::ERR_NO_ERROR) throw_kafka_error(t->err(), "Kafka topic " + topic);
        for (const auto* p : *t->partitions()) partitions.push_back(p->id());
    }
    return partitions;
}

std::vector<std::string> all_topics(RdKafka::Handle& client, std::chrono::milliseconds timeout) {
    const auto metadata = metadata_of(client, nullptr, timeout);
    std::vector<std::string> topics;
    for (const auto* t : *metadata->topics())
        if (t->err() == RdKafka::ERR_NO_ERROR && !t->topic().starts_with("__"))
            topics.push_back(t->topic());
    return topics;
}

std::map<TopicPartition, Watermarks> topic_watermarks(RdKafka::Handle& client,
                                                      const std::vector<std::string>& topics,
                                                      std::chrono::milliseconds timeout) {
    std::map<TopicPartition, Watermarks> result;
    for (const std::string& topic : topics) {
        const std::vector<std::int32_t> partitions = topic_partitions(client, topic, timeout);
        if (partitions.empty())
            throw UsageError("Kafka topic " + topic + " does not exist: run db_setup first");
        for (const std::int32_t partition : partitions) {
            Watermarks marks;
            const RdKafka::ErrorCode err = client.query_watermark_offsets(
                topic, partition, &marks.low, &marks.high, static_cast<int>(timeout.count()));
            if (err != RdKafka::ERR_NO_ERROR)
                throw TransientError("Kafka watermarks of " + topic + " partition " +
                                     std::to_string(partition) + ": " + RdKafka::err2str(err));
            result[{topic, partition}] = marks;
        }
    }
    return result;
}

std::map<TopicPartition, std::int64_t> partition_lag(
    const std::map<TopicPartition, Watermarks>& marks,
    const std::map<TopicPartition, std::int64_t>& stored_next_offsets) {
    std::map<TopicPartition, std::int64_t> lag;
    for (const auto& [partition, mark] : marks) {
        const auto found = stored_next_offsets.find(partition);
        const std::int64_t next =
            found == stored_next_offsets.end() ? mark.low : std::max(found->second, mark.low);
        lag[partition] = std::max<std::int64_t>(mark.high - next, 0);
    }
    return lag;
}

}  // namespace pgtrail
