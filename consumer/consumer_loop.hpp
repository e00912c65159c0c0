#pragma once

#include <chrono>
#include <string>

#include "common/cli_options.hpp"

namespace pgtrail {

struct ConsumerOptions {
    std::string dest;
    KafkaSettings kafka;
    RetrySettings retry;
    MonitoringSettings monitoring;
    std::string group = "pgtrail";
    int batch_size = 10000;
    int apply_connections = 2;
    bool drain = false;
    SchemaEvolution schema_evolution = SchemaEvolution::none;
    std::string rules_path;  // empty: every table mirrored to its same-named table
    std::chrono::seconds tombstone_retention{7 * 24 * 3600};
};

// Applies the topic's changes to the destination until shutdown (or, with drain, until
// every partition is applied up to the high watermark seen at start). Returns the exit code.
int run_consumer(const ConsumerOptions& options);

}  // namespace pgtrail
