#pragma once

#include <cstdint>
#include <string>

#include "common/cli_options.hpp"

namespace pgtrail {

struct ProducerOptions {
    std::string source;
    KafkaSettings kafka;
    RetrySettings retry;
    MonitoringSettings monitoring;
    int page_size = 10000;
    int poll_interval_ms = 10;
    bool drain = false;
    // Hold publishing while `group` lags this many messages on a partition (0: never).
    std::string group = "pgtrail";
    std::int64_t max_group_lag = 0;
};

// Publishes the source's log until shutdown (or, with drain, until every change committed
// before it started is confirmed by Kafka). Returns the exit code.
int run_producer(const ProducerOptions& options);

}  // namespace pgtrail
