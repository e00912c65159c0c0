#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace pgtrail {

// The partitions of `topic` as the brokers report them; empty when the topic does not
// exist. Throws TransientError when no broker answers within `timeout`.
std::vector<std::int32_t> topic_partitions(RdKafka::Handle& client, const std::string& topic,
                                           std::chrono::milliseconds timeout);

}  // namespace pgtrail
