#include "setup/table_verifier.hpp"

#include <future>
#include <pqxx/pqxx>

#include "common/pqxx_compat.hpp"
#include "setup/chunk_hasher.hpp"
#include "setup/key_ranges.hpp"
#include "setup/row_merger.hpp"

namespace pgtrail {
namespace {

// row_to_json renders timestamptz in the session's TimeZone and floats and intervals by
// session settings; two clusters configured differently must still compare equal. Range
// bounds travel as text between the sides, so they must read back exactly, too.
constexpr const char* kSameTextOnBothSides =
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL IntervalStyle = 'postgres'; "
    "SET LOCAL extra_float_digits = 1";

// One snapshot per side for the whole table: boundaries, hashes and merges agree.
class VerifyTransaction {
public:
    VerifyTransaction(pqxx::connection& conn, const std::string& name) : tx_(conn, name) {
        pq::exec0(tx_, kSameTextOnBothSides);
    }
    pqxx::transaction_base& tx() { return tx_; }

private:
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pq::write_policy::read_only> tx_;
};

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
    if (key_sort_orders(src.tx(), table) != key_sort_orders(dst.tx(), table)) {
        result.method = "key collations differ between the sides, compared by a full merge";
        merge_rows(src.tx(), dst.tx(), table, KeyRange{}, options.keep_keys, result);
        return result;
    }
    for (const KeyRange& range : chunk_ranges(src.tx(), table, options.chunk_rows)) {
        // Each side hashes on its own server; running them together halves the wait.
        auto on_source =
            std::async(std::launch::async, [&] { return summarize_chunk(src.tx(), table, range); });
        const ChunkSummary on_dest = summarize_chunk(dst.tx(), table, range);
        const ChunkSummary here = on_source.get();
        if (here == on_dest)
            result.rows += here.rows;
        else
            merge_rows(src.tx(), dst.tx(), table, range, options.keep_keys, result);
    }
    return result;
}

}  // namespace pgtrail
