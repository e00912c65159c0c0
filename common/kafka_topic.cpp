#include "common/kafka_topic.hpp"

#include <memory>

#include "common/errors.hpp"

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
        if (t->err() != RdKafka::ERR_NO_ERROR)
            throw TransientError("Kafka topic " + topic + ": " + RdKafka::err2str(t->err()));
        for (const auto* p : *t->partitions()) partitions.push_back(p->id());
    }
    return partitions;
}

}  // namespace pgtrail
