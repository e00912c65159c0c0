#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace pgtrail {

// One partition of one topic: what offsets, claims and lag are kept per.
struct TopicPartition {
    std::string topic;
    std::int32_t partition = 0;

    std::string display() const { return topic + "/" + std::to_string(partition); }
    auto operator<=>(const TopicPartition&) const = default;
};

}  // namespace pgtrail
