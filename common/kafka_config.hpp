#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/cli_options.hpp"

namespace pgtrail {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// Builds a librdkafka configuration: pgtrail's `defaults` first, then the user's -X
// properties, which win. An unknown or invalid property is a UsageError.
std::unique_ptr<RdKafka::Conf> make_kafka_conf(const KafkaSettings& settings,
                                               const KafkaProperties& defaults);

// `defaults` followed by librdkafka's own waits bounded by the retry budget, so no Kafka
// wait outlasts --retry-for: message.timeout.ms (how long a message may wait for its
// delivery report, librdkafka's default 300 s) is the budget, and socket.timeout.ms (one
// request, 60 s) at most the budget. Both at least 1 s: librdkafka reads 0 as "forever".
// The user's -X still wins, as for every default.
KafkaProperties with_waits_bounded(KafkaProperties defaults, std::chrono::seconds budget);

// Splits "key=value" as given to -X.
std::pair<std::string, std::string> split_property(const std::string& key_value);

}  // namespace pgtrail
