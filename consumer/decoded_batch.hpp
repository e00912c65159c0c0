#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consumer/change.hpp"
#include "consumer/dead_letters.hpp"
#include "consumer/offset_store.hpp"

namespace pgtrail {

using Messages = std::vector<std::unique_ptr<RdKafka::Message>>;

// A message's key and value as bytes, nullopt when absent: what a dead letter keeps.
std::optional<std::string> message_key(const RdKafka::Message& message);
std::optional<std::string> message_value(const RdKafka::Message& message);

// A consumed batch, decoded: what to apply, what to dead-letter, and where each partition
// resumes once it is committed.
struct DecodedBatch {
    std::vector<Change> changes;
    std::vector<DeadLetter> dead_letters;
    PartitionOffsets next_offsets;

    bool empty() const { return changes.empty() && dead_letters.empty() && next_offsets.empty(); }
};

// Splits a batch into `parts` by topic partition: every partition's changes, dead letters and
// offset stay together, so each part can commit on its own.
std::vector<DecodedBatch> split_by_partition(DecodedBatch batch, std::size_t parts);

}  // namespace pgtrail
