#include "setup/table_verifier.hpp"

#include <future>
#include <pqxx/pqxx>

#include "common/pqxx_compat.hpp"
#include "setup/chunk_hasher.hpp"
#include "setup/key_ranges.hpp"
#include "setup/row_merger.hpp"

namespace pgtrail {
namespace {

// One snapshot per side for the whole table: boundaries, hashes and merges agree. The text
// both sides print (timestamptz in UTC, floats in full, intervals and bytea in one style)
// comes from the settings every session pins (common/session_settings.hpp).
constexpr const char* kEncoding = "SELECT getdatabaseencoding()";

using VerifyTransaction =
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pq::write_policy::read_only>;

std::string missing_columns(pqxx::connection& dest, const TableInfo& table) {
    std::optional<TableInfo> on_dest;
    {
        pqxx::read_transaction tx(dest);
        on_dest = load_table(tx, table.name);
    }
    if (!on_dest) return "missing on the destination";
    std::string problem;
    for (const auto& column : table.columns) {
        bool found = false;
        for (const auto& have : on_dest->columns) found = found || have.name == column.name;
        if (!found)
            problem += (problem.empty() ? "" : "; ") +
                       ("column " + column.name + " missing on the destination");
    }
    return problem;
}

}  // namespace

TableComparison compare_table(pqxx::connection& source, pqxx::connection& dest,
                              const TableInfo& table, const VerifyOptions& options) {
    TableComparison result;
    result.table = table.name;
    result.problem = missing_columns(dest, table);
    if (!result.problem.empty()) return result;

    VerifyTransaction src(source, "verify source"), dst(dest, "verify destination");
    if (key_sort_orders(src, table) != key_sort_orders(dst, table)) {
        result.method = "key collations differ between the sides, compared by a full merge";
        merge_rows(src, dst, table, KeyRange{}, options.keep_keys, result);
        return result;
    }
    const bool as_utf8 = pq::exec1(src, kEncoding)[0].as<std::string>() !=
                         pq::exec1(dst, kEncoding)[0].as<std::string>();
    for (const KeyRange& range : chunk_ranges(src, table, options.chunk_rows)) {
        // Each side hashes on its own server; running them together halves the wait.
        auto on_source = std::async(std::launch::async,
                                    [&] { return summarize_chunk(src, table, range, as_utf8); });
        const ChunkSummary on_dest = summarize_chunk(dst, table, range, as_utf8);
        const ChunkSummary here = on_source.get();
        if (here == on_dest)
            result.rows += here.rows;
        else
            merge_rows(src, dst, table, range, options.keep_keys, result);
    }
    return result;
}

}  // namespace pgtrail
