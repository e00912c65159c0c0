#include "setup/table_verifier.hpp"

#include <pqxx/pqxx>

#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

constexpr std::size_t kSamples = 5;
constexpr int kFetchSize = 5000;

// row_to_json renders timestamptz in the session's TimeZone and floats and intervals by
// session settings; two clusters configured differently must still compare equal.
constexpr const char* kSameTextOnBothSides =
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL IntervalStyle = 'postgres'; "
    "SET LOCAL extra_float_digits = 1";

// Keys and rows as row_to_json text, ordered bytewise (COLLATE "C") so both sides sort the
// same way whatever their collations, and so the merge below can compare std::strings.
std::string ordered_rows_sql(const TableInfo& table) {
    std::string keys, columns;
    for (const auto& pk : table.pk_columns)
        keys += (keys.empty() ? "t." : ", t.") + quote_ident(pk);
    for (const auto& column : table.columns)
        columns += (columns.empty() ? "t." : ", t.") + quote_ident(column.name);
    return "DECLARE verify_rows NO SCROLL CURSOR FOR SELECT row_to_json(k)::text, "
           "row_to_json(r)::text FROM " +
           table.name.quoted() + " t CROSS JOIN LATERAL (SELECT " + keys +
           ") k CROSS JOIN LATERAL (SELECT " + columns +
           ") r ORDER BY row_to_json(k)::text COLLATE \"C\"";
}

// Reads one side's cursor page by page.
class RowStream {
public:
    RowStream(pqxx::connection& conn, const std::string& declare) : tx_(conn, "verify") {
        tx_.exec0(kSameTextOnBothSides);
        tx_.exec0(declare);
        fetch();
    }
    bool done() const { return index_ >= page_.size(); }
    std::string key() const { return page_[index_][0].as<std::string>(); }
    std::string row() const { return page_[index_][1].as<std::string>(); }
    void advance() {
        if (++index_ >= page_.size()) fetch();
    }

private:
    void fetch() {
        page_ = tx_.exec("FETCH " + std::to_string(kFetchSize) + " FROM verify_rows");
        index_ = 0;
    }
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only>
        tx_;
    pqxx::result page_;
    std::size_t index_ = 0;
};

void note(std::int64_t& count, std::vector<std::string>& samples, std::string key) {
    ++count;
    if (samples.size() < kSamples) samples.push_back(std::move(key));
}

}  // namespace

TableComparison compare_table(pqxx::connection& source, pqxx::connection& dest,
                              const TableInfo& table) {
    TableComparison result{table.name, {}, 0, 0, 0, 0, {}, {}, {}};
    std::optional<TableInfo> on_dest;
    {
        pqxx::read_transaction tx(dest);
        on_dest = load_table(tx, table.name);
    }
    if (!on_dest) {
        result.problem = "missing on the destination";
        return result;
    }
    for (const auto& column : table.columns) {
        bool found = false;
        for (const auto& have : on_dest->columns) found = found || have.name == column.name;
        if (!found)
            result.problem += (result.problem.empty() ? "" : "; ") +
                              ("column " + column.name + " missing on the destination");
    }
    if (!result.problem.empty()) return result;

    const std::string declare = ordered_rows_sql(table);
    RowStream src(source, declare), dst(dest, declare);
    while (!src.done() || !dst.done()) {
        if (dst.done() || (!src.done() && src.key() < dst.key())) {
            note(result.missing, result.sample_missing, src.key());
            ++result.rows;
            src.advance();
        } else if (src.done() || dst.key() < src.key()) {
            note(result.extra, result.sample_extra, dst.key());
            dst.advance();
        } else {
            if (src.row() != dst.row()) note(result.different, result.sample_different, src.key());
            ++result.rows;
            src.advance();
            dst.advance();
        }
    }
    return result;
}

}  // namespace pgtrail
