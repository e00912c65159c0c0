#include "consumer/consumer_monitor.hpp"

#include "common/log.hpp"

namespace pgtrail {
namespace {

using Clock = ProgressMeter::Clock;

}  // namespace

ConsumerMonitor::ConsumerMonitor(const MonitoringSettings& settings, bool drain)
    : draining_(drain),
      bar_(drain && log::status_line_possible()),
      meter_(settings.log_interval(), Clock::now()),
      messages_consumed_(registry_.counter("pgtrail_consumer_messages_consumed_total",
                                           "Messages read from Kafka and committed to the "
                                           "destination (applied, dead-lettered or skipped)")),
      changes_applied_(registry_.counter("pgtrail_consumer_changes_applied_total",
                                         "Changes applied to the destination (including those "
                                         "the guards found older than the row)")),
      dead_letters_(registry_.counter("pgtrail_consumer_dead_letters_total",
                                      "Messages sent to the dead-letter topic")),
      batches_(registry_.counter("pgtrail_consumer_batches_total", "Batches committed")),
      batch_size_(registry_.histogram("pgtrail_consumer_batch_size", "Messages per batch",
                                      kBatchSizeBuckets)),
      apply_seconds_(registry_.histogram(
          "pgtrail_consumer_apply_seconds",
          "Seconds to decode, apply and commit a batch on the destination (all apply "
          "connections)",
          kLatencyBuckets)),
      lag_(registry_.gauge_family("pgtrail_consumer_lag_messages",
                                  "High watermark minus the next offset to apply (refreshed "
                                  "once per --log-interval)",
                                  {"topic", "partition"})),
      server_(serve_metrics(registry_, settings)) {}

ConsumerMonitor::~ConsumerMonitor() { log::clear_status(); }

void ConsumerMonitor::drain_started(std::int64_t messages) {
    meter_.start_total(messages);
    log::info("draining ", messages, " messages");
}

void ConsumerMonitor::batch_applied(std::int64_t messages, std::int64_t changes,
                                    std::int64_t dead_letters,
                                    std::chrono::steady_clock::duration applying) {
    messages_consumed_.add(messages);
    changes_applied_.add(changes);
    dead_letters_.add(dead_letters);
    batches_.add();
    batch_size_.observe(static_cast<double>(messages));
    apply_seconds_.observe(std::chrono::duration<double>(applying).count());
    dead_letters_total_ += dead_letters;
    const auto now = Clock::now();
    meter_.add(messages, now);
    if (!bar_) return;
    if (const auto bar = meter_.bar_update(now)) log::show_status(*bar);
}

void ConsumerMonitor::tick(const LagReader& read_lag) {
    const auto now = Clock::now();
    if (!meter_.due(now)) return;
    refresh_lag(read_lag);
    if (!bar_) report(now, false);
}

void ConsumerMonitor::finish(const LagReader& read_lag) {
    if (bar_) {
        log::show_status(*meter_.bar_update(Clock::now(), true));
        log::clear_status();
    } else if (draining_) {
        refresh_lag(read_lag);
        report(Clock::now(), true);
    }
}

void ConsumerMonitor::refresh_lag(const LagReader& read_lag) {
    const auto lag = read_lag();
    if (!lag) return;
    lag_total_ = 0;
    for (const auto& [partition, messages] : *lag) {
        lag_.with({partition.topic, std::to_string(partition.partition)})
            .set(static_cast<double>(messages));
        lag_total_ += messages;
    }
}

void ConsumerMonitor::report(Clock::time_point now, bool force) {
    const std::string toward_total = meter_.toward_total(now);
    const auto interval = meter_.close_interval(now, lag_total_ > 0);
    if (!interval.report && !force) return;
    log::info(interval.state, "applied ", interval.done, " messages in ",
              format_tenths(interval.seconds), " s (", format_rate(interval.rate()), "), ",
              interval.total_done, " in total, ", dead_letters_total_, " dead letters",
              toward_total, "; lag ", lag_total_, " messages");
}

}  // namespace pgtrail
