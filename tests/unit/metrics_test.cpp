#include "common/metrics.hpp"

#include <doctest/doctest.h>

#include <string>

#include "common/json_members.hpp"
#include "common/log.hpp"

using namespace pgtrail;

TEST_CASE("counters, gauges and labelled gauges render with HELP and TYPE lines") {
    MetricsRegistry registry;
    Counter& published = registry.counter("pgtrail_test_published_total", "Messages published");
    Gauge& backlog = registry.gauge("pgtrail_test_backlog_rows", "Rows waiting\nin the log");
    GaugeFamily& lag = registry.gauge_family("pgtrail_test_lag", "Lag", {"topic", "partition"});
    published.add(41);
    published.add();
    backlog.set(2.5);
    lag.with({"t", "0"}).set(0);
    lag.with({"t", "a\"b\\c"}).set(7);

    CHECK(registry.exposition() ==
          "# HELP pgtrail_test_published_total Messages published\n"
          "# TYPE pgtrail_test_published_total counter\n"
          "pgtrail_test_published_total 42\n"
          "# HELP pgtrail_test_backlog_rows Rows waiting\\nin the log\n"
          "# TYPE pgtrail_test_backlog_rows gauge\n"
          "pgtrail_test_backlog_rows 2.5\n"
          "# HELP pgtrail_test_lag Lag\n"
          "# TYPE pgtrail_test_lag gauge\n"
          "pgtrail_test_lag{topic=\"t\",partition=\"0\"} 0\n"
          "pgtrail_test_lag{topic=\"t\",partition=\"a\\\"b\\\\c\"} 7\n");
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count") {
    MetricsRegistry registry;
    Histogram& latency = registry.histogram("pgtrail_test_seconds", "Latency", {0.005, 0.1, 1});
    latency.observe(0.001);
    latency.observe(0.1);  // on a bound: counts into that bucket (le = less or equal)
    latency.observe(0.5);
    latency.observe(3);

    CHECK(registry.exposition() ==
          "# HELP pgtrail_test_seconds Latency\n"
          "# TYPE pgtrail_test_seconds histogram\n"
          "pgtrail_test_seconds_bucket{le=\"0.005\"} 1\n"
          "pgtrail_test_seconds_bucket{le=\"0.1\"} 2\n"
          "pgtrail_test_seconds_bucket{le=\"1\"} 3\n"
          "pgtrail_test_seconds_bucket{le=\"+Inf\"} 4\n"
          "pgtrail_test_seconds_sum 3.601\n"
          "pgtrail_test_seconds_count 4\n");
}

TEST_CASE("metric values use Prometheus' spelling of special numbers") {
    CHECK(format_metric_value(0) == "0");
    CHECK(format_metric_value(1e15) == "1e+15");
    CHECK(format_metric_value(123456789) == "123456789");
    CHECK(format_metric_value(100000) == "100000");
    CHECK(format_metric_value(-0.25) == "-0.25");
    CHECK(format_metric_value(1.0 / 0.0) == "+Inf");
    CHECK(format_metric_value(-1.0 / 0.0) == "-Inf");
    CHECK(format_metric_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("a json log line is one object with ts, program, level and an escaped msg") {
    const std::string line =
        log::format_line(log::Format::json, "2026-01-02T03:04:05.678Z", "producer",
                         log::Level::warn, "table \"a\\b\": bad\nvalue\ttab");
    const auto members = split_object(line);
    REQUIRE(members.size() == 4);
    CHECK(decode_json_string(find_member(members, "ts")->raw_value) == "2026-01-02T03:04:05.678Z");
    CHECK(decode_json_string(find_member(members, "program")->raw_value) == "producer");
    CHECK(decode_json_string(find_member(members, "level")->raw_value) == "warn");
    CHECK(decode_json_string(find_member(members, "msg")->raw_value) ==
          "table \"a\\b\": bad\nvalue\ttab");
    CHECK(line.find('\n') == std::string::npos);

    CHECK(log::format_line(log::Format::text, "T", "consumer", log::Level::info, "applied") ==
          "T consumer INFO applied");
}
