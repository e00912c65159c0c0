#include <algorithm>

#include "common/cli_options.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_session.hpp"
#include "common/retry_policy.hpp"
#include "common/table_rules.hpp"
#include "common/topic_routing.hpp"
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
    std::string rules_path;
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
    app.add_option("--rules", rules_path,
                   "Prepare the destination for a consumer with this rules file: only the "
                   "tables it names, under their destination names, with their columns; "
                   "the tables it names are captured too");
    app.add_flag("--uninstall", uninstall,
                 "Remove capture from the source: pgtrail's triggers and schema cdc. Refused "
                 "while the log holds unpublished changes. The destination and the topics "
                 "are left alone; needs only --source")
        ->excludes("--table", "--demo", "--snapshot", "--partitions", "--rules");
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
        std::optional<Rules> rules;
        if (!rules_path.empty()) rules = read_rules_file(rules_path);
        const TopicRouting routing(kafka);
        const auto ensure = [&](const std::vector<std::string>& topics, int count) {
            with_retries(retry.budget(), "cannot reach Kafka brokers " + kafka.brokers,
                         [&] { ensure_topics(kafka, topics, count, kKafkaTimeout); });
        };
        if (!routing.per_table()) ensure({kafka.topic}, partitions);
        ensure({dead_letter_topic(kafka.topic)}, 1);
        // With a topic per table, a table's topic exists before its capture starts, so the
        // producer never meets a change it has no topic for; and again for every captured
        // table afterwards (those captured before --table-topics was chosen).
        const auto ensure_table_topics = [&](const std::vector<TableName>& tables) {
            if (!routing.per_table()) return;
            std::vector<std::string> topics;
            for (const auto& table : tables) topics.push_back(routing.topic_of(table));
            ensure(topics, partitions);
        };
        const auto names_of = [](const std::vector<TableInfo>& tables) {
            std::vector<TableName> names;
            for (const auto& table : tables) names.push_back(table.name);
            return names;
        };
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
            if (rules)
                prepare_ruled_destination(*dest_conn, *rules, tables, enums, composites);
            else
                prepare_destination(*dest_conn, tables, enums, composites);
        };
        // Under rules the destination is prepared before capture starts, so rules the
        // destination refuses leave the source as it was.
        if (rules) {
            if (request.demo) create_demo_table(*source_conn);
            std::vector<std::string> ruled;
            for (const auto& rule : rules->tables)
                if (std::find(ruled.begin(), ruled.end(), rule.source.quoted()) == ruled.end())
                    ruled.push_back(rule.source.quoted());
            const auto sources = tables_to_load(*source_conn, ruled);
            prepare(sources);
            std::vector<LoadClaim> ruled_loads;
            if (snapshot)
                ruled_loads = claim_ruled_loads(
                    *dest_conn,
                    ruled_loads_of(*rules, tables_to_load(*source_conn, request.tables)), force);
            request.tables.insert(request.tables.end(), ruled.begin(), ruled.end());
            if (routing.per_table())
                ensure_table_topics(names_of(tables_to_load(*source_conn, request.tables)));
            const auto tables = install_capture(*source_conn, request);
            ensure_table_topics(names_of(tables));
            log::info("ready: ", tables.size(), " captured tables, ", rules->tables.size(),
                      " ruled for this destination");
            for (const auto& load : ruled_loads) run_load(*source_conn, *dest_conn, load);
            return kExitOk;
        }
        // A loaded table exists on the destination before capture starts, so the consumer
        // never meets a change of it there is no table for; and its load is claimed first,
        // so a refused load changes nothing.
        std::vector<LoadClaim> loads;
        if (snapshot) {
            const auto to_load = tables_to_load(*source_conn, request.tables);
            prepare(to_load);
            loads = claim_loads(*dest_conn, to_load, force);
        }
        if (routing.per_table()) {
            std::vector<TableName> requested =
                names_of(tables_to_load(*source_conn, request.tables));
            if (request.demo) requested.push_back(kDemoTableName);
            ensure_table_topics(requested);
        }
        const auto tables = install_capture(*source_conn, request);
        ensure_table_topics(names_of(tables));
        prepare(tables);
        log::info("ready: ", tables.size(), " captured tables");
        for (const auto& load : loads) run_load(*source_conn, *dest_conn, load);
        return kExitOk;
    });
}
