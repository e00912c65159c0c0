#include "common/cli_options.hpp"
#include "common/duration_option.hpp"
#include "common/shutdown.hpp"
#include "common/topic_routing.hpp"
#include "consumer/consumer_loop.hpp"

int main(int argc, char** argv) {
    using namespace pgtrail;
    ConsumerOptions options;
    CLI::App app{"pgtrail consumer: applies the topic's changes to the destination"};
    add_config_option(app);
    add_dest_option(app, options.dest);
    add_kafka_options(app, options.kafka);
    add_subscribe_option(app, options.kafka);
    add_retry_option(app, options.retry);
    add_monitoring_options(app, options.monitoring);
    app.add_option("--group", options.group, "Kafka consumer group")->capture_default_str();
    app.add_option("--batch-size", options.batch_size, "Most messages applied per transaction")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    app.add_option("--apply-connections", options.apply_connections,
                   "Destination connections applying in parallel, each a share of the partitions")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    add_duration_option(app, "--tombstone-retention", options.tombstone_retention,
                        "Delete tombstones older than this (7d, 12h, 30m, 90s, seconds); keep "
                        "it above the topic's retention");
    add_schema_evolution_option(app, options.schema_evolution);
    app.add_option("--rules", options.rules_path,
                   "Rules file (TOML): which tables to apply, where to, and which rows, "
                   "columns and computed values (README \"Routing and filtering\"); prepare "
                   "the destination with db_setup --rules first");
    app.add_flag("--drain", options.drain,
                 "Apply everything up to the high watermarks seen at start, then exit 0");
    return run_program("consumer", app, argc, argv, [&] {
        install_shutdown_handlers();
        check_topic_settings(options.kafka);
        return run_consumer(options);
    });
}
