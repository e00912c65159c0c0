#include "common/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace pgtrail {
namespace {

std::string escape_help(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_label_value(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"')
            out += "\\\"";
        else
            out += escape_help(std::string_view(&c, 1));
    }
    return out;
}

void append_sample(std::string& out, std::string_view name, std::string_view labels, double value) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    out += format_metric_value(value);
    out += '\n';
}

std::string label_pair(std::string_view label, std::string_view value) {
    return std::string(label) + "=\"" + escape_label_value(value) + "\"";
}

}  // namespace

std::string format_metric_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buf[64];
    // Whole numbers as integers: counts and bucket bounds read "100000", not "1e+05".
    if (value == std::trunc(value) && std::fabs(value) < 1e15)
        return std::to_string(static_cast<long long>(value));
    const auto result = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, result.ptr);
}

Gauge& GaugeFamily::with(const LabelValues& label_values) {
    std::lock_guard lock(mutex_);
    auto& gauge = series_[label_values];
    if (!gauge) gauge = std::make_unique<Gauge>();
    return *gauge;
}

std::vector<std::pair<GaugeFamily::LabelValues, double>> GaugeFamily::values() const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<LabelValues, double>> out;
    for (const auto& [label_value, gauge] : series_) out.emplace_back(label_value, gauge->value());
    return out;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size(), 0) {
    std::sort(upper_bounds_.begin(), upper_bounds_.end());
}

void Histogram::observe(double value) {
    const auto bucket =
        std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
    std::lock_guard lock(mutex_);
    if (static_cast<std::size_t>(bucket) < counts_.size()) ++counts_[bucket];
    ++count_;
    sum_ += value;
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot out;
    out.upper_bounds = upper_bounds_;
    std::lock_guard lock(mutex_);
    std::uint64_t running = 0;
    for (const std::uint64_t n : counts_) out.cumulative.push_back(running += n);
    out.count = count_;
    out.sum = sum_;
    return out;
}

template <typename T, typename... Args>
T& MetricsRegistry::add(std::string name, std::string help, Args&&... args) {
    auto metric = std::make_unique<T>(std::forward<Args>(args)...);
    T& ref = *metric;
    std::lock_guard lock(mutex_);
    metrics_.push_back({std::move(name), std::move(help), std::move(metric)});
    return ref;
}

Counter& MetricsRegistry::counter(std::string name, std::string help) {
    return add<Counter>(std::move(name), std::move(help));
}

Gauge& MetricsRegistry::gauge(std::string name, std::string help) {
    return add<Gauge>(std::move(name), std::move(help));
}

GaugeFamily& MetricsRegistry::gauge_family(std::string name, std::string help,
                                           std::vector<std::string> labels) {
    return add<GaugeFamily>(std::move(name), std::move(help), std::move(labels));
}

Histogram& MetricsRegistry::histogram(std::string name, std::string help,
                                      std::vector<double> upper_bounds) {
    return add<Histogram>(std::move(name), std::move(help), std::move(upper_bounds));
}

std::string MetricsRegistry::exposition() const {
    std::string out;
    std::lock_guard lock(mutex_);
    for (const Metric& metric : metrics_) {
        const auto type = std::visit(
            [](const auto& value) -> const char* {
                using T = typename std::decay_t<decltype(value)>::element_type;
                if constexpr (std::is_same_v<T, Counter>) return "counter";
                if constexpr (std::is_same_v<T, Histogram>) return "histogram";
                return "gauge";
            },
            metric.value);
        out += "# HELP " + metric.name + " " + escape_help(metric.help) + "\n";
        out += "# TYPE " + metric.name + " " + type + "\n";
        if (const auto* counter = std::get_if<std::unique_ptr<Counter>>(&metric.value)) {
            append_sample(out, metric.name, "", static_cast<double>((*counter)->value()));
        } else if (const auto* gauge = std::get_if<std::unique_ptr<Gauge>>(&metric.value)) {
            append_sample(out, metric.name, "", (*gauge)->value());
        } else if (const auto* family = std::get_if<std::unique_ptr<GaugeFamily>>(&metric.value)) {
            for (const auto& [label_values, value] : (*family)->values()) {
                std::string labels;
                for (std::size_t i = 0; i < label_values.size(); ++i)
                    labels += (i == 0 ? "" : ",") +
                              label_pair((*family)->labels().at(i), label_values[i]);
                append_sample(out, metric.name, labels, value);
            }
        } else if (const auto* histogram = std::get_if<std::unique_ptr<Histogram>>(&metric.value)) {
            const Histogram::Snapshot snap = (*histogram)->snapshot();
            const std::string bucket = metric.name + "_bucket";
            for (std::size_t i = 0; i < snap.upper_bounds.size(); ++i)
                append_sample(out, bucket,
                              label_pair("le", format_metric_value(snap.upper_bounds[i])),
                              static_cast<double>(snap.cumulative[i]));
            append_sample(out, bucket, label_pair("le", "+Inf"), static_cast<double>(snap.count));
            append_sample(out, metric.name + "_sum", "", snap.sum);
            append_sample(out, metric.name + "_count", "", static_cast<double>(snap.count));
        }
    }
    return out;
}

}  // namespace pgtrail
