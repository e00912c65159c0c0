#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/cli_options.hpp"

namespace pgtrail {

// Makes sure every topic of `topics` exists. Checks metadata first and creates a topic
// through the admin API only when missing (the dev broker pre-creates its topics and cannot
// create new ones). An existing topic is left as it is, with a warning if its partition count
// differs.
void ensure_topics(const KafkaSettings& settings, const std::vector<std::string>& topics,
                   int partitions, std::chrono::milliseconds timeout);

}  // namespace pgtrail
