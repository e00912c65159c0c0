#include "common/kafka_topic.hpp"

#include <algorithm>
#include <memory>

#include "common/errors.hpp"
#include "common/retry_policy.hpp"

namespace pgtrail {

std::vector<std::int32_t> topic_partitions(RdKafka::Handle& client, const std::string& topic,
                                           std::chrono::milliseconds timeout) {
    std::string error;
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&client, topic, nullptr, error));
    if (!handle) throw UsageError("Kafka topic " + topic + ": " + error);
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode err =
        client.metadata(false, handle.get(), &raw, static_cast<int>(timeout.count()));
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (err != RdKafka::ERR_NO_ERROR)
        throw TransientError("Kafka brokers unreachable: " + RdKafka::err2str(err));
    std::vector<std::int32_t> partitions;
    for (const auto* t : *metadata->topics()) {
        if (t->topic() != topic || t->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) continue;
        if (t->err() != RdKafka::ERR_NO_ERROR) throw_kafka_error(t->err(), "Kafka topic " + topic);
        for (const auto* p : *t->partitions()) partitions.push_back(p->id());
    }
    return partitions;
}

std::map<std::int32_t, Watermarks> topic_watermarks(RdKafka::Handle& client,
                                                    const std::string& topic,
                                                    std::chrono::milliseconds timeout) {
    const std::vector<std::int32_t> partitions = topic_partitions(client, topic, timeout);
    if (partitions.empty())
        throw UsageError("Kafka topic " + topic + " does not exist: run db_setup first");
    std::map<std::int32_t, Watermarks> result;
    for (const std::int32_t partition : partitions) {
        Watermarks marks;
        const RdKafka::ErrorCode err = client.query_watermark_offsets(
            topic, partition, &marks.low, &marks.high, static_cast<int>(timeout.count()));
        if (err != RdKafka::ERR_NO_ERROR)
            throw TransientError("Kafka watermarks of " + topic + " partition " +
                                 std::to_string(partition) + ": " + RdKafka::err2str(err));
        result[partition] = marks;
    }
    return result;
}

std::map<std::int32_t, std::int64_t> partition_lag(
    const std::map<std::int32_t, Watermarks>& marks,
    const std::map<std::int32_t, std::int64_t>& stored_next_offsets) {
    std::map<std::int32_t, std::int64_t> lag;
    for (const auto& [partition, mark] : marks) {
        const auto found = stored_next_offsets.find(partition);
        const std::int64_t next =
            found == stored_next_offsets.end() ? mark.low : std::max(found->second, mark.low);
        lag[partition] = std::max<std::int64_t>(mark.high - next, 0);
    }
    return lag;
}

}  // namespace pgtrail
