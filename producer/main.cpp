#include "common/cli_options.hpp"
#include "common/shutdown.hpp"
#include "producer/producer_loop.hpp"

int main(int argc, char** argv) {
    using namespace pgtrail;
    ProducerOptions options;
    CLI::App app{"pgtrail producer: publishes the source's change log to Kafka"};
    add_config_option(app);
    add_source_option(app, options.source);
    add_kafka_options(app, options.kafka);
    add_retry_option(app, options.retry);
    add_monitoring_options(app, options.monitoring);
    app.add_option("--batch-size", options.page_size, "Log rows read per page")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    app.add_option("--poll-interval-ms", options.poll_interval_ms,
                   "How often an idle producer asks the source for new changes")
        ->check(CLI::Range(1, 60000))
        ->capture_default_str();
    app.add_option("--max-group-lag", options.max_group_lag,
                   "Hold publishing while consumer group --group lags this many messages on a "
                   "partition (0: never); for brokers that keep little, like the dev broker")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40))
        ->capture_default_str();
    app.add_option("--group", options.group, "Consumer group --max-group-lag watches")
        ->capture_default_str();
    app.add_flag("--drain", options.drain,
                 "Publish every change committed before start, then exit 0");
    return run_program("producer", app, argc, argv, [&] {
        install_shutdown_handlers();
        return run_producer(options);
    });
}
