#include "common/progress_meter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pgtrail {
namespace {

double seconds_between(ProgressMeter::Clock::time_point from, ProgressMeter::Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

}  // namespace

ProgressMeter::ProgressMeter(Clock::duration interval, Clock::time_point now)
    : interval_(interval), interval_start_(now), last_report_(now) {}

void ProgressMeter::add(std::int64_t done, Clock::time_point now) {
    interval_done_ += done;
    total_done_ += done;
    toward_total_done_ += done;
    if (!first_work_ && done > 0) {
        first_work_ = now;
        first_work_done_ = toward_total_done_;
    }
}

void ProgressMeter::start_total(std::int64_t total) {
    total_ = total;
    toward_total_done_ = 0;
    first_work_.reset();
}

bool ProgressMeter::due(Clock::time_point now) const { return now - interval_start_ >= interval_; }

ProgressMeter::Clock::duration ProgressMeter::until_due(Clock::time_point now) const {
    return std::max(interval_start_ + interval_ - now, Clock::duration::zero());
}

ProgressMeter::Interval ProgressMeter::close_interval(Clock::time_point now, bool pending) {
    Interval out;
    out.done = interval_done_;
    out.seconds = seconds_between(interval_start_, now);
    out.total_done = total_done_;
    out.idle = interval_done_ == 0 && !pending;
    out.report = !out.idle || now - last_report_ >= kIdleLineEvery;
    out.state = out.idle ? "idle: " : total_ ? "draining: " : "";
    if (out.report) last_report_ = now;
    interval_done_ = 0;
    interval_start_ = now;
    return out;
}

double ProgressMeter::total_rate(Clock::time_point now) const {
    if (!first_work_) return 0;
    const double seconds = seconds_between(*first_work_, now);
    return seconds > 0 ? static_cast<double>(toward_total_done_ - first_work_done_) / seconds : 0;
}

std::string ProgressMeter::toward_total(Clock::time_point now) const {
    if (!total_) return "";
    const std::int64_t done = std::min(toward_total_done_, *total_);
    const int percent = *total_ > 0 ? static_cast<int>(100 * done / *total_) : 100;
    std::string out = ", " + std::to_string(done) + "/" + std::to_string(*total_) + " (" +
                      std::to_string(percent) + "%)";
    const double rate = total_rate(now);
    if (done >= *total_)
        out += ", done";
    else if (rate > 0)
        out += ", ETA " + format_duration(static_cast<double>(*total_ - done) / rate);
    return out;
}

std::string ProgressMeter::bar(Clock::time_point now, int width) const {
    const std::int64_t total = total_.value_or(0);
    const std::int64_t done = std::min(toward_total_done_, total);
    const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
    std::string out = "[" + std::string(filled, '#') + std::string(width - filled, '-') + "] ";
    out += std::to_string(done) + "/" + std::to_string(total) + " " +
           std::to_string(total > 0 ? 100 * done / total : 100) + "%";
    const double rate = total_rate(now);
    out += ", " + format_rate(rate);
    if (done < total)
        out += rate > 0 ? ", ETA " + format_duration(static_cast<double>(total - done) / rate)
                        : ", ETA ?";
    return out;
}

std::optional<std::string> ProgressMeter::bar_update(Clock::time_point now, bool force) {
    if (!force && now - last_bar_ < kBarEvery) return std::nullopt;
    last_bar_ = now;
    return bar(now);
}

std::string format_tenths(double value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", value);
    return buf;
}

std::string format_rate(double per_second) {
    char buf[32];
    if (per_second < 10)
        std::snprintf(buf, sizeof buf, "%.1f/s", per_second);
    else
        std::snprintf(buf, sizeof buf, "%.0f/s", per_second);
    return buf;
}

std::string format_duration(double seconds) {
    const auto whole = static_cast<long long>(std::ceil(std::max(seconds, 0.0)));
    char buf[32];
    if (whole < 60)
        std::snprintf(buf, sizeof buf, "%llds", whole);
    else if (whole < 3600)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", whole / 60, whole % 60);
    else
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", whole / 3600, whole % 3600 / 60);
    return buf;
}

}  // namespace pgtrail
