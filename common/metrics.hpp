#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pgtrail {

// A value that only goes up, e.g. messages published since start.
class Counter {
public:
    void add(std::int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

// A value that goes up and down, e.g. rows waiting in the log.
class Gauge {
public:
    void set(double value) { value_.store(value, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

// Gauges told apart by labels, e.g. lag per topic and partition. A series appears when first
// used.
class GaugeFamily {
public:
    using LabelValues = std::vector<std::string>;  // one per label, in the labels' order

    explicit GaugeFamily(std::vector<std::string> labels) : labels_(std::move(labels)) {}
    Gauge& with(const LabelValues& label_values);
    const std::vector<std::string>& labels() const { return labels_; }
    std::vector<std::pair<LabelValues, double>> values() const;

private:
    std::vector<std::string> labels_;
    mutable std::mutex mutex_;
    std::map<LabelValues, std::unique_ptr<Gauge>> series_;
};

// Observations counted into fixed buckets (upper bounds, ascending), with their sum.
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double value);

    struct Snapshot {
        std::vector<double> upper_bounds;
        std::vector<std::uint64_t> cumulative;  // per bound: observations <= it
        std::uint64_t count = 0;
        double sum = 0;
    };
    Snapshot snapshot() const;

private:
    std::vector<double> upper_bounds_;
    mutable std::mutex mutex_;
    std::vector<std::uint64_t> counts_;  // per bound, not cumulative
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

// The metrics a program exposes, rendered in Prometheus' text exposition format (version
// 0.0.4). Metrics are registered once at start; updates and rendering may come from any
// thread.
class MetricsRegistry {
public:
    Counter& counter(std::string name, std::string help);
    Gauge& gauge(std::string name, std::string help);
    GaugeFamily& gauge_family(std::string name, std::string help, std::vector<std::string> labels);
    Histogram& histogram(std::string name, std::string help, std::vector<double> upper_bounds);

    std::string exposition() const;

private:
    using Value = std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>,
                               std::unique_ptr<GaugeFamily>, std::unique_ptr<Histogram>>;
    struct Metric {
        std::string name;
        std::string help;
        Value value;
    };
    template <typename T, typename... Args>
    T& add(std::string name, std::string help, Args&&... args);

    mutable std::mutex mutex_;
    std::vector<Metric> metrics_;
};

// Bucket bounds shared by producer and consumer: rows or messages per batch, and seconds
// for a batch's round trip (Kafka confirmation, destination commit).
inline const std::vector<double> kBatchSizeBuckets = {1, 10, 100, 1000, 10000, 100000, 1000000};
inline const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,     10,   30};

// A number as Prometheus writes it: shortest round-trip form, +Inf, -Inf, NaN.
std::string format_metric_value(double value);

}  // namespace pgtrail
