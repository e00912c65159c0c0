#pragma once

#include <chrono>
#include <string>

#include "common/cli_options.hpp"

namespace pgtrail {

// Makes sure `topic` exists. Checks metadata first and creates it through the admin API
// only when missing (the dev broker pre-creates its topics and cannot create new ones).
// An existing topic is left as it is, with a warning if its partition count differs.
void ensure_topic(const KafkaSettings& settings, const std::string& topic, int partitions,
                  std::chrono::milliseconds timeout);

}  // namespace pgtrail
