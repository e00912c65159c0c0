#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pgtrail {

// Settings every program that talks to Kafka shares.
struct KafkaSettings {
    std::string brokers;
    std::string topic = "cdc_events";
    std::string table_topics;             // a topic per table by this template (topic_routing.hpp)
    std::string subscribe;                // the consumer's topics, when not the ones above
    std::vector<std::string> properties;  // -X key=value, passed to librdkafka untouched
};

// Where the consumer sends messages it cannot apply; db_setup creates it beside the topic.
inline std::string dead_letter_topic(const std::string& topic) { return topic + "_dlq"; }

// How long a program keeps retrying an unreachable database or broker before exit 3.
struct RetrySettings {
    int retry_for_seconds = 60;
    std::chrono::seconds budget() const { return std::chrono::seconds(retry_for_seconds); }
};

// How a long-running program reports: a progress line every interval and, when a port is
// given, a Prometheus /metrics endpoint.
struct MonitoringSettings {
    int log_interval_seconds = 10;
    int metrics_port = 0;  // 0: no endpoint
    std::string metrics_address = "0.0.0.0";
    std::chrono::seconds log_interval() const { return std::chrono::seconds(log_interval_seconds); }
};

// --config, --log-format and --version: every program has them.
// What the consumer does when a source table's columns change (README "Schema changes").
enum class SchemaEvolution {
    none,         // hold the table until db_setup has brought the destination up to date
    add_columns,  // add added columns, keep dropped ones, hold on anything else
};

void add_config_option(CLI::App& app);
void add_source_option(CLI::App& app, std::string& conninfo);
void add_dest_option(CLI::App& app, std::string& conninfo);
void add_kafka_options(CLI::App& app, KafkaSettings& kafka);
// --subscribe LIST|^REGEX: the programs that read the changes (consumer, db_verify --status).
void add_subscribe_option(CLI::App& app, KafkaSettings& kafka);
void add_retry_option(CLI::App& app, RetrySettings& retry);
void add_monitoring_options(CLI::App& app, MonitoringSettings& monitoring);
// --schema-evolution none|add-columns (config key schema-evolution), default none.
void add_schema_evolution_option(CLI::App& app, SchemaEvolution& evolution);

// Parses the command line and runs `body`, turning every error into the exit codes README lists
// with a one-line reason on stderr. The only place a program decides its exit code.
int run_program(std::string_view name, CLI::App& app, int argc, char** argv,
                const std::function<int()>& body);

// Collapses a multi-line error (libpq adds DETAIL and HINT lines) into one line.
std::string one_line(std::string_view message);

}  // namespace pgtrail
