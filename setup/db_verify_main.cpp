#include <iostream>
#include <pqxx/pqxx>

#include "common/cli_options.hpp"
#include "common/errors.hpp"
#include "common/pg_session.hpp"
#include "common/pqxx_compat.hpp"
#include "common/table_rules.hpp"
#include "common/topic_routing.hpp"
#include "setup/pipeline_status.hpp"
#include "setup/row_repairer.hpp"
#include "setup/ruled_verifier.hpp"
#include "setup/table_verifier.hpp"

namespace {

// Differing keys one --repair run keeps per table, so memory stays bounded; a bigger gap
// heals over several runs.
constexpr std::size_t kRepairKeysPerRun = 100000;

constexpr const char* kCapturedTables =
    "SELECT schema_name, table_name FROM cdc.captured_tables ORDER BY schema_name, table_name";

std::vector<pgtrail::TableInfo> tables_to_compare(pqxx::connection& source,
                                                  const std::vector<std::string>& requested) {
    using namespace pgtrail;
    pqxx::read_transaction tx(source);
    std::vector<TableName> names;
    if (requested.empty()) {
        if (!pq::exec1(tx, "SELECT to_regclass('cdc.captured_tables') IS NOT NULL")[0].as<bool>())
            throw UsageError(
                "capture is not installed on the source: pass --table or run db_setup");
        for (const auto& row : tx.exec(kCapturedTables))
            names.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    }
    for (const auto& text : requested) {
        auto name = resolve_table(tx, text);
        if (!name) throw UsageError("table " + text + " does not exist on the source");
        names.push_back(*name);
    }
    std::vector<TableInfo> tables;
    for (const auto& name : names) {
        auto info = load_table(tx, name);
        if (!info) continue;
        if (info->pk_columns.empty())
            throw UsageError("table " + name.display() + " has no primary key to compare by");
        tables.push_back(std::move(*info));
    }
    return tables;
}

std::string samples(const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& key : keys) out += (out.empty() ? " e.g. " : ", ") + key;
    return out;
}

void report(const pgtrail::TableComparison& c) {
    std::cout << c.table.display() << ": ";
    const std::string method = c.method.empty() ? "" : " (" + c.method + ")";
    if (!c.problem.empty()) {
        std::cout << "cannot compare: " << c.problem << "\n";
    } else if (c.equal()) {
        std::cout << c.rows << " rows, equal" << method << "\n";
    } else {
        std::cout << c.rows << " source rows, DIFFERENT" << method << "\n";
        if (c.missing)
            std::cout << "  " << c.missing << " missing on the destination"
                      << samples(c.sample_missing) << "\n";
        if (c.extra)
            std::cout << "  " << c.extra << " extra on the destination" << samples(c.sample_extra)
                      << "\n";
        if (c.different)
            std::cout << "  " << c.different << " with different values"
                      << samples(c.sample_different) << "\n";
    }
}

// The last line, and the exit code it stands for.
pgtrail::ExitCode summary(std::size_t compared, int differing) {
    std::cout << (differing == 0 ? "OK: " : "DIFFERENCES: ") << compared << " tables compared, "
              << differing << " differ\n";
    return differing == 0 ? pgtrail::kExitOk : pgtrail::kExitDifferences;
}

void repair(pqxx::connection& source, pqxx::connection& dest, const pgtrail::TableInfo& table,
            const pgtrail::TableComparison& c) {
    const pgtrail::RepairCounts counts =
        pgtrail::repair_rows(source, dest, table, c.differing_keys);
    std::cout << "  repair: copied " << counts.rows << " current rows to the destination and "
              << "removed " << counts.deletes << " rows the source does not hold\n";
    if (static_cast<std::int64_t>(c.differing_keys.size()) < c.differing())
        std::cout << "  repair: only the first " << c.differing_keys.size() << " of "
                  << c.differing() << " differing keys; run --repair again\n";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace pgtrail;
    std::string source, dest;
    RetrySettings retry;
    KafkaSettings kafka;
    std::string group = "pgtrail";
    std::vector<std::string> tables;
    VerifyOptions verify;
    bool status = false, heal = false;
    std::string rules_path;
    CLI::App app{"pgtrail db_verify: compares captured tables between source and destination"};
    add_config_option(app);
    add_source_option(app, source);
    add_dest_option(app, dest);
    add_kafka_options(app, kafka);
    add_subscribe_option(app, kafka);
    app.get_option("--brokers")
        ->required(false)
        ->description("Kafka bootstrap servers, host:port[,...]; with --status, to show lag");
    app.get_option("--topic")->description("Kafka topic whose consumer lag --status reports");
    add_retry_option(app, retry);
    app.add_option("--group", group, "Consumer group whose offsets --status reports")
        ->capture_default_str();
    app.add_option("--table", tables, "Only this table, schema.name (repeatable)")
        ->allow_extra_args(false);
    app.add_option("--chunk-rows", verify.chunk_rows,
                   "Rows per key range hashed on both sides; only differing ranges are "
                   "compared row by row")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}))
        ->capture_default_str();
    auto* status_flag = app.add_flag(
        "--status", status,
        "Print replication position and lag (producer position age, log backlog, consumer "
        "lag per partition, newest applied change per table, dead letters) instead of comparing");
    app.add_flag("--repair", heal,
                 "Also copy differing rows from the source to the destination, the way "
                 "db_setup --snapshot loads them, without locking the source (exit 1 when "
                 "anything differed)")
        ->excludes(status_flag);
    app.add_option("--rules", rules_path,
                   "Compare the tables of a consumer with this rules file as its rules fill "
                   "them: only matching source rows, only the rules' columns, transforms "
                   "applied to the source rows, destination names")
        ->excludes("--table", "--status");
    return run_program("db_verify", app, argc, argv, [&] {
        check_topic_settings(kafka);
        if (!rules_path.empty()) {
            const Rules rules = read_rules_file(rules_path);
            if (heal) throw UsageError("--repair with --rules is not built yet");
            auto source_conn = connect_with_retry(source, "source", retry.budget());
            auto dest_conn = connect_with_retry(dest, "destination", retry.budget());
            const auto ruled = ruled_comparisons(*source_conn, *dest_conn, rules);
            int differing = 0;
            for (const auto& table : ruled) {
                const TableComparison result =
                    compare_ruled_table(*source_conn, *dest_conn, table, verify);
                report(result);
                if (!result.equal()) ++differing;
            }
            return summary(ruled.size(), differing);
        }
        auto source_conn = connect_with_retry(source, "source", retry.budget());
        auto dest_conn = connect_with_retry(dest, "destination", retry.budget());
        const auto to_compare = tables_to_compare(*source_conn, tables);
        if (status) {
            print_status(std::cout, *source_conn, *dest_conn,
                         {to_compare, kafka, group, retry.budget()});
            return kExitOk;
        }
        if (heal) verify.keep_keys = kRepairKeysPerRun;
        int differing = 0;
        for (const auto& table : to_compare) {
            const TableComparison result = compare_table(*source_conn, *dest_conn, table, verify);
            report(result);
            if (result.equal()) continue;
            ++differing;
            if (heal && result.problem.empty()) repair(*source_conn, *dest_conn, table, result);
        }
        return summary(to_compare.size(), differing);
    });
}
