#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace pgtrail {

// Counts work done by a long-running program and decides when to report it. A line is
// due once per interval, but only when work happened or some is still pending (lag,
// backlog); an idle program reports once a minute so a silent log still proves it lives.
// With a known total (a drain) it also tells percent done, rate and time to go.
// Times are passed in, so tests drive it with a fake clock.
class ProgressMeter {
public:
    using Clock = std::chrono::steady_clock;

    static constexpr std::chrono::seconds kIdleLineEvery{60};
    // A terminal bar redraws often enough to look alive, rarely enough to cost nothing.
    static constexpr std::chrono::milliseconds kBarEvery{250};

    ProgressMeter(Clock::duration interval, Clock::time_point now);

    void add(std::int64_t done, Clock::time_point now);
    // Starts counting toward `total` (a drain); done-toward-total restarts at zero.
    void start_total(std::int64_t total);

    // Whether the current interval is over.
    bool due(Clock::time_point now) const;
    Clock::duration until_due(Clock::time_point now) const;

    struct Interval {
        std::int64_t done = 0;  // in this interval
        double seconds = 0;     // its length
        std::int64_t total_done = 0;
        bool report = false;  // whether a line belongs in the log
        bool idle = false;    // nothing done and nothing pending
        // Starts the progress line: "idle: ", "draining: " or nothing.
        const char* state = "";
        double rate() const { return seconds > 0 ? static_cast<double>(done) / seconds : 0; }
    };
    // Ends the current interval at `now` and starts the next. `pending`: work remains
    // (lag, backlog), so the line is worth logging even when nothing was done.
    Interval close_interval(Clock::time_point now, bool pending);

    // ", 1200/5000 (24%), ETA 3s" while a total is known, else "". The ETA needs two
    // pieces of work toward the total: the rate is measured between the first and the last.
    std::string toward_total(Clock::time_point now) const;
    // "[#####---------------] 1200/5000 24%, 400/s, ETA 9s" for a terminal status line.
    std::string bar(Clock::time_point now, int width = 30) const;
    // The bar when the last one is kBarEvery old (or `force`), else nothing.
    std::optional<std::string> bar_update(Clock::time_point now, bool force = false);

private:
    double total_rate(Clock::time_point now) const;

    Clock::duration interval_;
    Clock::time_point interval_start_;
    Clock::time_point last_report_;
    std::int64_t interval_done_ = 0;
    std::int64_t total_done_ = 0;
    std::optional<std::int64_t> total_;
    std::int64_t toward_total_done_ = 0;
    // The drain's rate is measured from its first piece of work, so time spent waiting
    // (a consumer group joining) does not stretch the ETA.
    std::optional<Clock::time_point> first_work_;
    std::int64_t first_work_done_ = 0;
    Clock::time_point last_bar_{};
};

// 1234.5 -> "1235/s"; below 10 one decimal: "2.5/s".
std::string format_rate(double per_second);
// 9.96 -> "10.0": interval lengths and ages in progress lines.
std::string format_tenths(double value);
// Seconds as "45s", "3m05s", "2h03m".
std::string format_duration(double seconds);

}  // namespace pgtrail
