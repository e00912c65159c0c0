#include "producer/producer_monitor.hpp"

#include "common/log.hpp"

namespace pgtrail {
namespace {

using Clock = ProgressMeter::Clock;

}  // namespace

ProducerMonitor::ProducerMonitor(const MonitoringSettings& settings, bool drain)
    : draining_(drain),
      bar_(drain && log::status_line_possible()),
      meter_(settings.log_interval(), Clock::now()),
      interval_(settings.log_interval()),
      changes_read_(registry_.counter("pgtrail_producer_changes_read_total",
                                      "Log rows read from cdc.log and published")),
      messages_published_(registry_.counter("pgtrail_producer_messages_published_total",
                                            "Messages Kafka confirmed")),
      batches_(
          registry_.counter("pgtrail_producer_batches_total",
                            "Snapshot batches published and recorded (empty ones not counted)")),
      batch_size_(registry_.histogram("pgtrail_producer_batch_size", "Log rows per published batch",
                                      kBatchSizeBuckets)),
      publish_seconds_(registry_.histogram(
          "pgtrail_producer_publish_seconds",
          "Seconds from reading a batch's first page to Kafka's confirmation of its last "
          "message",
          kLatencyBuckets)),
      backlog_rows_(registry_.gauge("pgtrail_producer_log_backlog_rows",
                                    "Committed rows in cdc.log not yet published (refreshed "
                                    "once per --log-interval)")),
      position_age_(registry_.gauge("pgtrail_producer_position_age_seconds",
                                    "Seconds since the stored position last advanced (refreshed "
                                    "once per --log-interval)")),
      server_(serve_metrics(registry_, settings)) {}

ProducerMonitor::~ProducerMonitor() { log::clear_status(); }

void ProducerMonitor::drain_started(std::int64_t rows) {
    meter_.start_total(rows);
    log::info("draining ", rows, " changes");
}

void ProducerMonitor::rows_sent(std::int64_t rows) {
    const auto now = Clock::now();
    meter_.add(rows, now);
    if (!bar_) {
        if (meter_.due(now)) report(now);
    } else if (const auto bar = meter_.bar_update(now)) {
        log::show_status(*bar);
    }
}

void ProducerMonitor::batch_confirmed(std::int64_t rows, std::int64_t messages,
                                      std::chrono::steady_clock::duration publishing) {
    if (rows == 0) return;
    changes_read_.add(rows);
    messages_published_.add(messages);
    batches_.add();
    batch_size_.observe(static_cast<double>(rows));
    publish_seconds_.observe(std::chrono::duration<double>(publishing).count());
    if (bar_) log::show_status(*meter_.bar_update(Clock::now(), true));
}

void ProducerMonitor::tick(pqxx::connection& conn) {
    const auto now = Clock::now();
    if (!backlog_known_ || now - last_backlog_ >= interval_) {
        backlog_ = read_log_backlog(conn);
        backlog_known_ = true;
        last_backlog_ = now;
        backlog_rows_.set(static_cast<double>(backlog_.rows));
        position_age_.set(backlog_.position_age_seconds);
    }
    if (!bar_ && meter_.due(now)) report(now);
}

std::chrono::milliseconds ProducerMonitor::until_next_line() const {
    return std::chrono::ceil<std::chrono::milliseconds>(meter_.until_due(Clock::now()));
}

void ProducerMonitor::finish() {
    if (bar_)
        log::clear_status();
    else if (draining_)
        report(Clock::now(), true);
}

void ProducerMonitor::report(Clock::time_point now, bool force) {
    const std::string toward_total = meter_.toward_total(now);
    const auto interval = meter_.close_interval(now, backlog_.rows > 0);
    if (!interval.report && !force) return;
    // The backlog is measured between batches, so during a drain's single batch it would be
    // stale; the count toward the drain's total says what is left instead.
    const std::string backlog =
        draining_ ? ""
                  : log::cat("; log backlog ", backlog_.rows, " rows, position advanced ",
                             format_tenths(backlog_.position_age_seconds), " s ago");
    log::info(interval.state, "published ", interval.done, " changes in ",
              format_tenths(interval.seconds), " s (", format_rate(interval.rate()), "), ",
              interval.total_done, " in total", toward_total, backlog);
}

}  // namespace pgtrail
