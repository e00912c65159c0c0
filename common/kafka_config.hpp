#pragma once

#include <librdkafka/rdkafkacpp.h>

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

// Splits "key=value" as given to -X.
std::pair<std::string, std::string> split_property(const std::string& key_value);

}  // namespace pgtrail
