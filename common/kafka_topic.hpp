#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/topic_partition.hpp"

namespace pgtrail {

// The partitions of `topic` as the brokers report them; empty when the topic does not
// exist. Throws TransientError when no broker answers within `timeout`.
std::vector<std::int32_t> topic_partitions(RdKafka::Handle& client, const std::string& topic,
                                           std::chrono::milliseconds timeout);

// Every topic the brokers know, internal ones (__consumer_offsets) left out. Throws
// TransientError when no broker answers within `timeout`.
std::vector<std::string> all_topics(RdKafka::Handle& client, std::chrono::milliseconds timeout);

struct Watermarks {
    std::int64_t low = 0;
    std::int64_t high = 0;
};

// Every partition's low and high watermark, of every topic in `topics`. Throws UsageError
// when a topic does not exist and TransientError when the brokers do not answer within
// `timeout`.
std::map<TopicPartition, Watermarks> topic_watermarks(RdKafka::Handle& client,
                                                      const std::vector<std::string>& topics,
                                                      std::chrono::milliseconds timeout);

// Messages each partition still has to apply: high watermark minus the stored next offset
// (the low watermark when nothing is stored or the stored offset lies below it).
std::map<TopicPartition, std::int64_t> partition_lag(
    const std::map<TopicPartition, Watermarks>& marks,
    const std::map<TopicPartition, std::int64_t>& stored_next_offsets);

}  // namespace pgtrail
