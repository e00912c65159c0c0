#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgtrail::it {

struct KafkaMessage {
    int32_t partition = 0;
    int64_t offset = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;  // nullopt is a null-value record
    // Read back only; the dead-letter topic carries each letter's reason and origin here.
    std::vector<std::pair<std::string, std::string>> headers = {};

    // The first header of that name, nullopt when there is none.
    std::optional<std::string> header(const std::string& name) const;
};

// Produces the messages in order, each to its partition (offset is ignored), and returns once
// the broker confirmed all. Tests craft messages this way to reach states the producer would
// not create on its own.
void produce_messages(const std::string& brokers, const std::string& topic,
                      const std::vector<KafkaMessage>& messages);

// Every message the topic holds right now, headers included, ordered by partition and
// offset.
std::vector<KafkaMessage> read_all_messages(const std::string& brokers, const std::string& topic);

}  // namespace pgtrail::it
