#include "common/cli_options.hpp"

#include <algorithm>
#include <pqxx/pqxx>

#include "common/config_file.hpp"
#include "common/conninfo.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"

namespace pgtrail {

void add_config_option(CLI::App& app) {
    app.set_config("--config", "",
                   "Read flags from this TOML/INI file (key = value per flag; a [program] "
                   "section applies to that program only)");
    app.set_version_flag("--version", PGTRAIL_VERSION);
    app.add_option_function<std::string>(
           "--log-format",
           [](const std::string& format) {
               log::set_format(format == "json" ? log::Format::json : log::Format::text);
           },
           "Log lines as text (default) or json (one object per line)")
        ->check(CLI::IsMember({"text", "json"}));
}

void add_source_option(CLI::App& app, std::string& conninfo) {
    app.add_option("--source", conninfo, "Source database: libpq conninfo or URI")
        ->envname("CDC_SOURCE_URL")
        ->required();
}

void add_dest_option(CLI::App& app, std::string& conninfo) {
    app.add_option("--dest", conninfo, "Destination database: libpq conninfo or URI")
        ->envname("CDC_DEST_URL")
        ->required();
}

void add_kafka_options(CLI::App& app, KafkaSettings& kafka) {
    app.add_option("--brokers", kafka.brokers, "Kafka bootstrap servers, host:port[,host:port]")
        ->envname("CDC_BROKERS")
        ->required();
    app.add_option("--topic", kafka.topic, "Kafka topic carrying the changes")
        ->envname("CDC_TOPIC")
        ->capture_default_str();
    app.add_option("--table-topics", kafka.table_topics,
                   "A topic per table instead of --topic, named by this template of {schema} "
                   "and {table}, e.g. cdc.{schema}.{table}")
        ->envname("CDC_TABLE_TOPICS");
    app.add_option("-X", kafka.properties,
                   "librdkafka property key=value (repeatable), e.g. -X security.protocol=SSL")
        ->allow_extra_args(false);
}

void add_subscribe_option(CLI::App& app, KafkaSettings& kafka) {
    app.add_option("--subscribe", kafka.subscribe,
                   "Topics to read: a comma-separated list, or a regular expression starting "
                   "with ^ (default: --table-topics' topics, else --topic)")
        ->envname("CDC_SUBSCRIBE");
}

void add_retry_option(CLI::App& app, RetrySettings& retry) {
    app.add_option("--retry-for", retry.retry_for_seconds,
                   "Seconds to keep retrying an unreachable database or broker before exit 3")
        ->check(CLI::Range(0, 7 * 24 * 3600))
        ->capture_default_str();
}

void add_schema_evolution_option(CLI::App& app, SchemaEvolution& evolution) {
    app.add_option_function<std::string>(
           "--schema-evolution",
           [&evolution](const std::string& mode) {
               evolution =
                   mode == "add-columns" ? SchemaEvolution::add_columns : SchemaEvolution::none;
           },
           "none: hold a table whose source gained a column until db_setup adds it; "
           "add-columns: add it on the destination by itself (README \"Schema changes\")")
        ->check(CLI::IsMember({"none", "add-columns"}))
        ->default_str("none");
}

void add_monitoring_options(CLI::App& app, MonitoringSettings& monitoring) {
    app.add_option("--log-interval", monitoring.log_interval_seconds,
                   "Seconds between progress lines (throughput, lag)")
        ->check(CLI::Range(1, 24 * 3600))
        ->capture_default_str();
    app.add_option("--metrics-port", monitoring.metrics_port,
                   "Serve Prometheus metrics on this port at /metrics (0: off)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    app.add_option("--metrics-address", monitoring.metrics_address,
                   "Address the metrics endpoint listens on")
        ->capture_default_str();
}

std::string one_line(std::string_view message) {
    std::string out;
    for (char c : message) {
        if (c == '\n') {
            if (!out.empty() && out.back() != ' ') out += "; ";
        } else {
            out += c;
        }
    }
    while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
    return out;
}

namespace {

// Usage errors quote the arguments they reject, and CLI11 2.4 quotes a config file's values
// too, so any password in them is blanked before the message is printed.
std::string without_passwords(std::string message) {
    hide_password_in_place(message.data());
    // One word at a time as well: hide_password_in_place looks only at the first URI it finds.
    for (std::size_t begin = 0; begin < message.size();) {
        const std::size_t end = std::min(message.find(' ', begin), message.size());
        std::string word = message.substr(begin, end - begin);
        hide_password_in_place(word.data());
        message.replace(begin, end - begin, word);
        begin = end + 1;
    }
    return message;
}

}  // namespace

int run_program(std::string_view name, CLI::App& app, int argc, char** argv,
                const std::function<int()>& body) {
    log::set_program(name);
    app.config_formatter(std::make_shared<ProgramConfigFile>(std::string(name), app));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);
        log::write_final_error(without_passwords(one_line(e.what())) + " (see --help)");
        return kExitUsage;
    }
    for (int i = 1; i < argc; ++i) hide_password_in_place(argv[i]);
    try {
        return body();
    } catch (const ShutdownRequested& e) {
        log::info("stopped: ", one_line(e.what()));
        return kExitOk;
    } catch (const UsageError& e) {
        log::write_final_error(one_line(e.what()));
        return kExitUsage;
    } catch (const std::exception& e) {
        log::write_final_error(one_line(e.what()));
        return kExitFailure;
    }
}

}  // namespace pgtrail
