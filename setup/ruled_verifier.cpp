#include "setup/ruled_verifier.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"
#include "setup/chunk_loader.hpp"
#include "setup/row_text.hpp"

namespace pgtrail {
namespace {

constexpr std::size_t kSamples = 5;
constexpr int kFetchSize = 5000;
constexpr const char* kSourceCopy = "pg_temp.pgtrail_verify_source";
constexpr const char* kCursor = "verify_ruled_rows";

using SourceTransaction =
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pq::write_policy::read_only>;

// The key as row_to_json text and the row as row_text_sql, of a relation aliased t.
std::string keyed_rows_sql(const TableInfo& table, const std::string& from) {
    std::string keys;
    for (const auto& pk : table.pk_columns)
        keys += (keys.empty() ? "t." : ", t.") + quote_ident(pk);
    return "SELECT row_to_json(k.*)::text AS key, " + row_text_sql(table) + " AS row FROM " + from +
           " CROSS JOIN LATERAL (SELECT " + keys + ") k CROSS JOIN LATERAL (SELECT " +
           copied_columns(table, "t.") + ") r";
}

// What the rule makes of the copied source rows, each value cast to its destination
// column's type as the consumer's INSERT assigns it.
std::string expected_rows_sql(const RuledComparison& table) {
    std::string values;
    for (std::size_t i = 0; i < table.mapping.columns.size(); ++i)
        values += (values.empty() ? "" : ", ") +
                  ("(" + value_sql(table.mapping.columns[i]) + ")::" + table.dest.columns[i].type +
                   " AS " + quote_ident(table.dest.columns[i].name));
    return "(SELECT " + values + " FROM " + kSourceCopy + " src WHERE " +
           filter_sql(table.mapping) + ") t";
}

// The destination's rows the source should have: a soft-deleted row stands for no row, and a
// history table stands for its latest entry per key unless that is a delete.
std::string actual_rows_sql(const RuledComparison& table) {
    if (table.mapping.mode == SinkMode::history) {
        std::string keys;
        for (const auto& pk : table.dest.pk_columns)
            keys += (keys.empty() ? "" : ", ") + quote_ident(pk);
        return "(SELECT * FROM (SELECT DISTINCT ON (" + keys + ") * FROM " +
               table.dest.name.quoted() + " ORDER BY " + keys + ", " + quote_ident(kGuardTsColumn) +
               " DESC, " + quote_ident(kGuardSeqColumn) + " DESC) latest WHERE " +
               quote_ident(kHistoryOpColumn) + " <> 'd') t";
    }
    if (table.mapping.mode != SinkMode::soft_delete) return table.dest.name.quoted() + " t";
    return "(SELECT * FROM " + table.dest.name.quoted() + " WHERE " +
           quote_ident(table.mapping.deleted_column) + " IS NULL) t";
}

}  // namespace

std::vector<RuledComparison> ruled_comparisons(pqxx::connection& source, pqxx::connection& dest,
                                               const Rules& rules) {
    std::vector<RuledComparison> out;
    pqxx::read_transaction stx(source, "rules: source tables");
    pqxx::work dtx(dest, "rules: check");
    for (const auto& rule : rules.tables) {
        std::optional<TableInfo> info = load_table(stx, rule.source);
        if (!info) throw UsageError(rule.context + ": the source table does not exist");
        if (info->pk_columns.empty())
            throw UsageError(rule.context + ": the source table has no primary key");
        TableMapping mapping = resolve_rule(rule, *info);
        check_expressions(dtx, mapping, *info);
        // A missing table or column is reported when the table is compared.
        TableInfo dest_table{rule.dest, {}, info->pk_columns};
        if (const std::optional<TableInfo> on_dest = load_table(dtx, rule.dest))
            for (const auto& column : mapping.columns)
                for (const auto& have : on_dest->columns)
                    if (have.name == column.name) dest_table.columns.push_back(have);
        out.push_back({std::move(*info), std::move(mapping), std::move(dest_table)});
    }
    return out;
}

TableComparison compare_ruled_table(pqxx::connection& source, pqxx::connection& dest,
                                    const RuledComparison& table, const VerifyOptions& options) {
    TableComparison result;
    result.table = table.dest.name;
    result.method = "rules: from " + table.source.name.display();
    {
        pqxx::read_transaction tx(dest);
        if (!load_table(tx, table.dest.name)) {
            result.problem = "missing on the destination";
            return result;
        }
    }
    if (table.dest.columns.size() != table.mapping.columns.size()) {
        for (const auto& column : table.mapping.columns)
            if (std::none_of(table.dest.columns.begin(), table.dest.columns.end(),
                             [&](const Column& c) { return c.name == column.name; }))
                result.problem += (result.problem.empty() ? "" : "; ") +
                                  ("column " + column.name + " missing on the destination");
        return result;
    }
    SourceTransaction stx(source, "verify source");
    // Read-write, for the temporary table; it writes nothing else.
    pqxx::transaction<pqxx::isolation_level::repeatable_read> dtx(dest, "verify under rules");
    pq::exec0(dtx, create_source_stage_sql(table.source, kSourceCopy));
    const std::string columns = copied_columns(table.source);
    pq::copy_rows(stx, "SELECT " + columns + " FROM " + table.source.name.quoted(), dtx,
                  kSourceCopy, columns);
    result.rows =
        pq::exec1(dtx, "SELECT count(*) FROM " + expected_rows_sql(table))[0].as<std::int64_t>();
    pq::exec0(dtx, std::string("DECLARE ") + kCursor +
                       " NO SCROLL CURSOR FOR SELECT coalesce(e.key, a.key), a.key IS NULL, "
                       "e.key IS NULL FROM (" +
                       keyed_rows_sql(table.dest, expected_rows_sql(table)) + ") e FULL JOIN (" +
                       keyed_rows_sql(table.dest, actual_rows_sql(table)) +
                       ") a ON a.key = e.key WHERE e.row IS DISTINCT FROM a.row");
    const auto note = [&](std::int64_t& count, std::vector<std::string>& samples,
                          const std::string& key) {
        ++count;
        if (samples.size() < kSamples) samples.push_back(key);
        if (result.differing_keys.size() < options.keep_keys) result.differing_keys.push_back(key);
    };
    for (;;) {
        const pqxx::result page =
            dtx.exec("FETCH " + std::to_string(kFetchSize) + " FROM " + kCursor);
        if (page.empty()) break;
        for (const auto& row : page) {
            const std::string key = row[0].as<std::string>();
            if (row[1].as<bool>())
                note(result.missing, result.sample_missing, key);
            else if (row[2].as<bool>())
                note(result.extra, result.sample_extra, key);
            else
                note(result.different, result.sample_different, key);
        }
    }
    return result;
}

}  // namespace pgtrail
