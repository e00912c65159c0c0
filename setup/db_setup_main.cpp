#include "common/cli_options.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_session.hpp"
#include "common/retry_policy.hpp"
#include "setup/capture_installer.hpp"
#include "setup/dest_preparer.hpp"
#include "setup/load_claim.hpp"
#include "setup/table_loader.hpp"
#include "setup/topic_creator.hpp"

namespace {
constexpr std::chrono::milliseconds kKafkaTimeout{5000};
}  // namespace

int main(int argc, char** argv) {
    using namespace pgtrail;
    std::string source, dest;
    KafkaSettings kafka;
    RetrySettings retry;
    CaptureRequest request;
    int partitions = 3;
    bool uninstall = false;
    bool force = false;
    bool snapshot = false;
    CLI::App app{
        "pgtrail db_setup: installs capture on the source, prepares the destination and the "
        "Kafka topic. Idempotent. With --uninstall, removes capture from the source instead."};
    add_config_option(app);
    add_source_option(app, source);
    add_dest_option(app, dest);
    add_kafka_options(app, kafka);
    add_retry_option(app, retry);
    app.add_option("--partitions", partitions, "Partitions of a topic created here")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    app.add_option("--table", request.tables, "Table to capture, schema.name (repeatable)")
        ->allow_extra_args(false);
    app.add_flag("--demo", request.demo, "Create and capture the demo table public.employees");
    app.add_flag(
        "--snapshot", snapshot,
        "Also copy the rows the given tables already hold to the destination, in key-ordered "
        "chunks straight from source to destination (COPY), without blocking the source's "
        "writers; rerun after an interruption to resume");
    app.add_flag("--uninstall", uninstall,
                 "Remove capture from the source: pgtrail's triggers and schema cdc. Refused "
                 "while the log holds unpublished changes. The destination and the topics "
                 "are left alone; needs only --source")
        ->excludes("--table", "--demo", "--snapshot", "--partitions");
    app.add_flag("--force", force,
                 "With --uninstall: discard unpublished changes. With --snapshot: empty a "
                 "destination table that already holds rows (TRUNCATE) and load it anew");
    // Required for installing only; checked once --uninstall is known.
    app.get_option("--dest")->required(false);
    app.get_option("--brokers")->required(false);
    return run_program("db_setup", app, argc, argv, [&] {
        if (uninstall) {
            auto source_conn = connect_with_retry(source, "source", retry.budget());
            const std::size_t tables = uninstall_capture(*source_conn, force);
            log::info("capture removed from the source (", tables,
                      " tables); the destination and the topics are unchanged");
            return kExitOk;
        }
        if (dest.empty()) throw UsageError("--dest is required (or CDC_DEST_URL)");
        if (kafka.brokers.empty()) throw UsageError("--brokers is required (or CDC_BROKERS)");
        const std::string reach = "cannot reach Kafka brokers " + kafka.brokers;
        with_retries(retry.budget(), reach,
                     [&] { ensure_topic(kafka, kafka.topic, partitions, kKafkaTimeout); });
        with_retries(retry.budget(), reach, [&] {
            ensure_topic(kafka, dead_letter_topic(kafka.topic), 1, kKafkaTimeout);
        });
        if (force && !snapshot) throw UsageError("--force goes with --uninstall or --snapshot");
        if (snapshot && request.tables.empty())
            throw UsageError("--snapshot needs the tables to load: --table schema.name");
        auto source_conn = connect_with_retry(source, "source", retry.budget());
        auto dest_conn = connect_with_retry(dest, "destination", retry.budget());
        request.retry_for = retry.budget();
        const auto prepare = [&](const std::vector<TableInfo>& tables) {
            std::vector<EnumType> enums;
            std::vector<CompositeType> composites;
            {
                pqxx::read_transaction tx(*source_conn);
                enums = enums_used_by(tx, tables);
                composites = composites_used_by(tx, tables);
            }
            prepare_destination(*dest_conn, tables, enums, composites);
        };
        // A loaded table exists on the destination before capture starts, so the consumer
        // never meets a change of it there is no table for; and its load is claimed first,
        // so a refused load changes nothing.
        std::vector<LoadClaim> loads;
        if (snapshot) {
            const auto to_load = tables_to_load(*source_conn, request.tables);
            prepare(to_load);
            loads = claim_loads(*dest_conn, to_load, force);
        }
        const auto tables = install_capture(*source_conn, request);
        prepare(tables);
        log::info("ready: ", tables.size(), " captured tables, topic ", kafka.topic);
        for (const auto& load : loads) run_load(*source_conn, *dest_conn, load);
        return kExitOk;
    });
}
