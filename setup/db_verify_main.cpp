#include <iostream>
#include <pqxx/pqxx>

#include "common/cli_options.hpp"
#include "common/errors.hpp"
#include "common/pg_session.hpp"
#include "setup/table_verifier.hpp"

namespace {

constexpr const char* kCapturedTables =
    "SELECT schema_name, table_name FROM cdc.captured_tables ORDER BY schema_name, table_name";

std::vector<pgtrail::TableInfo> tables_to_compare(pqxx::connection& source,
                                                  const std::vector<std::string>& requested) {
    using namespace pgtrail;
    pqxx::read_transaction tx(source);
    std::vector<TableName> names;
    if (requested.empty()) {
        if (!tx.exec1("SELECT to_regclass('cdc.captured_tables') IS NOT NULL")[0].as<bool>())
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
    if (!c.problem.empty()) {
        std::cout << "cannot compare: " << c.problem << "\n";
    } else if (c.equal()) {
        std::cout << c.rows << " rows, equal\n";
    } else {
        std::cout << c.rows << " source rows, DIFFERENT\n";
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

}  // namespace

int main(int argc, char** argv) {
    using namespace pgtrail;
    std::string source, dest;
    RetrySettings retry;
    std::vector<std::string> tables;
    CLI::App app{"pgtrail db_verify: compares captured tables between source and destination"};
    add_config_option(app);
    add_source_option(app, source);
    add_dest_option(app, dest);
    add_retry_option(app, retry);
    app.add_option("--table", tables, "Only this table, schema.name (repeatable)")
        ->allow_extra_args(false);
    return run_program("db_verify", app, argc, argv, [&] {
        auto source_conn = connect_with_retry(source, "source", retry.budget());
        auto dest_conn = connect_with_retry(dest, "destination", retry.budget());
        int differing = 0;
        const auto to_compare = tables_to_compare(*source_conn, tables);
        for (const auto& table : to_compare) {
            const TableComparison result = compare_table(*source_conn, *dest_conn, table);
            report(result);
            if (!result.equal()) ++differing;
        }
        std::cout << (differing == 0 ? "OK: " : "DIFFERENCES: ") << to_compare.size()
                  << " tables compared, " << differing << " differ\n";
        return differing == 0 ? kExitOk : kExitDifferences;
    });
}
