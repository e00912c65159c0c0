#include "common/progress_meter.hpp"

#include <doctest/doctest.h>

using namespace pgtrail;
using namespace std::chrono_literals;

namespace {
const ProgressMeter::Clock::time_point t0{};
}

TEST_CASE("rates and durations read the way an operator expects") {
    CHECK(format_rate(0) == "0.0/s");
    CHECK(format_rate(2.54) == "2.5/s");
    CHECK(format_rate(1234.5) == "1234/s");
    CHECK(format_duration(0) == "0s");
    CHECK(format_duration(44.2) == "45s");
    CHECK(format_duration(185) == "3m05s");
    CHECK(format_duration(7380) == "2h03m");
    CHECK(format_tenths(9.96) == "10.0");
}

TEST_CASE("one line per interval while busy or lagging, one a minute while idle") {
    ProgressMeter meter(10s, t0);
    CHECK_FALSE(meter.due(t0 + 9s));
    CHECK(meter.until_due(t0 + 9s) == 1s);
    CHECK(meter.until_due(t0 + 12s) == 0s);
    REQUIRE(meter.due(t0 + 10s));

    meter.add(500, t0 + 5s);
    auto interval = meter.close_interval(t0 + 10s, false);
    CHECK(interval.report);
    CHECK_FALSE(interval.idle);
    CHECK(interval.done == 500);
    CHECK(interval.seconds == doctest::Approx(10));
    CHECK(interval.rate() == doctest::Approx(50));
    CHECK(std::string(interval.state).empty());

    // Nothing done but lag remains: still worth a line.
    interval = meter.close_interval(t0 + 20s, true);
    CHECK(interval.report);
    CHECK_FALSE(interval.idle);

    // Idle: silent until a minute after the last line, then one idle line.
    for (int s = 30; s < 80; s += 10) CHECK_FALSE(meter.close_interval(t0 + s * 1s, false).report);
    interval = meter.close_interval(t0 + 80s, false);
    CHECK(interval.report);
    CHECK(interval.idle);
    CHECK(std::string(interval.state) == "idle: ");
    CHECK(interval.total_done == 500);
}

TEST_CASE("a drain tells done/total, percent and ETA from its rate since its first work") {
    ProgressMeter meter(10s, t0);
    CHECK(meter.toward_total(t0).empty());

    meter.add(7, t0);  // before the drain: not counted toward its total
    meter.start_total(1000);
    CHECK(meter.toward_total(t0 + 1s) == ", 0/1000 (0%)");
    CHECK(meter.bar(t0 + 1s, 10) == "[----------] 0/1000 0%, 0.0/s, ETA ?");

    // The first piece of work came after 30 s of waiting (a group join): no rate yet, and
    // the wait does not count against the rate later.
    meter.add(50, t0 + 31s);
    CHECK(meter.toward_total(t0 + 31s) == ", 50/1000 (5%)");
    meter.add(200, t0 + 35s);
    CHECK(meter.toward_total(t0 + 35s) == ", 250/1000 (25%), ETA 15s");
    CHECK(meter.bar(t0 + 35s, 10) == "[##--------] 250/1000 25%, 50/s, ETA 15s");
    CHECK(std::string(meter.close_interval(t0 + 40s, true).state) == "draining: ");

    meter.add(800, t0 + 45s);  // more than the total (messages that arrived meanwhile): capped
    CHECK(meter.toward_total(t0 + 45s) == ", 1000/1000 (100%), done");
    CHECK(meter.bar(t0 + 45s, 10) == "[##########] 1000/1000 100%, 71/s");
}

TEST_CASE("the terminal bar is redrawn at most every quarter second unless forced") {
    ProgressMeter meter(10s, t0);
    meter.start_total(10);
    CHECK(meter.bar_update(t0 + 1s));
    CHECK_FALSE(meter.bar_update(t0 + 1s + 100ms));
    CHECK(meter.bar_update(t0 + 1s + 100ms, true));
    CHECK(meter.bar_update(t0 + 1s + 400ms));
}
