#include "consumer/decoded_batch.hpp"

namespace pgtrail {
namespace {

std::optional<std::string> bytes(const void* data, std::size_t size) {
    if (data == nullptr) return std::nullopt;
    return std::string(static_cast<const char*>(data), size);
}

}  // namespace

std::optional<std::string> message_key(const RdKafka::Message& message) {
    return bytes(message.key_pointer(), message.key_len());
}

std::optional<std::string> message_value(const RdKafka::Message& message) {
    return bytes(message.payload(), message.len());
}

std::vector<DecodedBatch> split_by_partition(DecodedBatch batch, std::size_t parts) {
    std::vector<DecodedBatch> out(parts);
    // Topics hashed so that the partitions of several topics spread over the lanes too.
    auto part_of = [parts](const TopicPartition& p) {
        return (std::hash<std::string>{}(p.topic) + static_cast<std::size_t>(p.partition)) % parts;
    };
    for (auto& change : batch.changes)
        out[part_of(change.origin.partition)].changes.push_back(std::move(change));
    for (auto& letter : batch.dead_letters)
        out[part_of(letter.origin.partition)].dead_letters.push_back(std::move(letter));
    for (auto& [partition, offset] : batch.next_offsets)
        out[part_of(partition)].next_offsets[partition] = offset;
    return out;
}

}  // namespace pgtrail
