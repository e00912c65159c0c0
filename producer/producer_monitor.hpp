#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <pqxx/pqxx>

#include "common/cli_options.hpp"
#include "common/metrics.hpp"
#include "common/metrics_server.hpp"
#include "common/progress_meter.hpp"
#include "producer/log_backlog.hpp"

namespace pgtrail {

// What the producer tells its operator: Prometheus metrics (when a port is given), one
// progress line per interval, and during a drain a progress bar on a terminal.
class ProducerMonitor {
public:
    ProducerMonitor(const MonitoringSettings& settings, bool drain);
    ~ProducerMonitor();
    ProducerMonitor(const ProducerMonitor&) = delete;
    ProducerMonitor& operator=(const ProducerMonitor&) = delete;

    // A drain's batch holds `rows`; progress counts toward them from here.
    void drain_started(std::int64_t rows);
    // A page of the batch went to Kafka (not yet confirmed).
    void rows_sent(std::int64_t rows);
    void batch_confirmed(std::int64_t rows, std::int64_t messages,
                         std::chrono::steady_clock::duration publishing);
    // Between batches: refreshes the backlog figures and logs the progress line when due.
    void tick(pqxx::connection& conn);
    // How long an idle producer may wait before tick() has a line to log.
    std::chrono::milliseconds until_next_line() const;
    // Before the final line: a drain's last progress line (or its bar) shows where it ended.
    void finish();

private:
    void report(ProgressMeter::Clock::time_point now, bool force = false);

    bool draining_;
    bool bar_;  // a drain on a terminal shows a bar instead of progress lines
    ProgressMeter::Clock::time_point last_backlog_{};
    LogBacklog backlog_;
    bool backlog_known_ = false;
    ProgressMeter meter_;
    std::chrono::seconds interval_;

    MetricsRegistry registry_;
    Counter& changes_read_;
    Counter& messages_published_;
    Counter& batches_;
    Histogram& batch_size_;
    Histogram& publish_seconds_;
    Gauge& backlog_rows_;
    Gauge& position_age_;
    std::unique_ptr<MetricsServer> server_;  // after the registry it serves
};

}  // namespace pgtrail
