#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "common/cli_options.hpp"
#include "common/metrics.hpp"
#include "common/metrics_server.hpp"
#include "common/progress_meter.hpp"
#include "common/topic_partition.hpp"
#include "consumer/kafka_source.hpp"
#include "consumer/offset_store.hpp"

namespace pgtrail {

// What the consumer tells its operator: Prometheus metrics (when a port is given), one
// progress line per interval, and during a drain a progress bar on a terminal.
class ConsumerMonitor {
public:
    // Reads the lag of every partition subscribed to; nullopt when Kafka did not answer.
    using LagReader = std::function<std::optional<std::map<TopicPartition, std::int64_t>>()>;

    ConsumerMonitor(const MonitoringSettings& settings, bool drain);
    ~ConsumerMonitor();
    ConsumerMonitor(const ConsumerMonitor&) = delete;
    ConsumerMonitor& operator=(const ConsumerMonitor&) = delete;

    // A drain applies `messages`; progress counts toward them from here.
    void drain_started(std::int64_t messages);
    // `messages` consumed, of which `changes` applied and `dead_letters` dead-lettered.
    void batch_applied(std::int64_t messages, std::int64_t changes, std::int64_t dead_letters,
                       std::chrono::steady_clock::duration applying);
    // Between batches: once per interval refreshes the lag and logs the progress line.
    void tick(const LagReader& read_lag);
    // Before the final line: a drain's last progress line (or its bar) shows where it ended.
    void finish(const LagReader& read_lag);

private:
    void refresh_lag(const LagReader& read_lag);
    void report(ProgressMeter::Clock::time_point now, bool force);

    bool draining_;
    bool bar_;  // a drain on a terminal shows a bar instead of progress lines
    ProgressMeter meter_;
    std::int64_t dead_letters_total_ = 0;
    std::int64_t lag_total_ = 0;

    MetricsRegistry registry_;
    Counter& messages_consumed_;
    Counter& changes_applied_;
    Counter& dead_letters_;
    Counter& batches_;
    Histogram& batch_size_;
    Histogram& apply_seconds_;
    GaugeFamily& lag_;
    std::unique_ptr<MetricsServer> server_;  // after the registry it serves
};

}  // namespace pgtrail
