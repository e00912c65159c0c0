#include "setup/row_merger.hpp"

#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"
#include "setup/row_text.hpp"

namespace pgtrail {
namespace {

constexpr std::size_t kSamples = 5;
constexpr int kFetchSize = 5000;
constexpr const char* kCursor = "verify_rows";

// Keys as row_to_json text and rows as row_text_sql, ordered by the bytes of the keys' UTF-8
// (the text this session receives) so both sides sort the same way whatever their collations
// and encodings, and so the merge below can compare std::strings.
std::string ordered_rows_sql(const TableInfo& table, const KeyRange& range) {
    std::string keys, columns;
    for (const auto& pk : table.pk_columns)
        keys += (keys.empty() ? "t." : ", t.") + quote_ident(pk);
    for (const auto& column : table.columns)
        columns += (columns.empty() ? "t." : ", t.") + quote_ident(column.name);
    return std::string("DECLARE ") + kCursor +
           " NO SCROLL CURSOR FOR SELECT row_to_json(k.*)::text, " + row_text_sql(table) +
           " FROM " + table.name.quoted() + " t CROSS JOIN LATERAL (SELECT " + keys +
           ") k CROSS JOIN LATERAL (SELECT " + columns + ") r" + range_condition(table, range) +
           " ORDER BY convert_to(row_to_json(k.*)::text, 'UTF8')";
}

// Reads one side's cursor page by page; the cursor is closed when the stream ends.
class RowStream {
public:
    RowStream(pqxx::transaction_base& tx, const TableInfo& table, const KeyRange& range) : tx_(tx) {
        const std::vector<std::string> parameters = range_parameters(range);
        pq::exec0(tx_, ordered_rows_sql(table, range), pq::params_from(parameters));
        fetch();
    }
    RowStream(const RowStream&) = delete;
    RowStream& operator=(const RowStream&) = delete;
    ~RowStream() {
        try {
            pq::exec0(tx_, std::string("CLOSE ") + kCursor);
        } catch (const std::exception&) {
            // The transaction failed already; ending it discards the cursor anyway.
        }
    }
    bool done() const { return index_ >= page_.size(); }
    std::string key() const { return page_[index_][0].as<std::string>(); }
    std::string row() const { return page_[index_][1].as<std::string>(); }
    void advance() {
        if (++index_ >= page_.size()) fetch();
    }

private:
    void fetch() {
        page_ = tx_.exec("FETCH " + std::to_string(kFetchSize) + " FROM " + kCursor);
        index_ = 0;
    }
    pqxx::transaction_base& tx_;
    pqxx::result page_;
    pqxx::result::size_type index_ = 0;
};

}  // namespace

void merge_rows(pqxx::transaction_base& source, pqxx::transaction_base& dest,
                const TableInfo& table, const KeyRange& range, std::size_t keep_keys,
                TableComparison& result) {
    const auto note = [&](std::int64_t& count, std::vector<std::string>& samples,
                          const std::string& key) {
        ++count;
        if (samples.size() < kSamples) samples.push_back(key);
        if (result.differing_keys.size() < keep_keys) result.differing_keys.push_back(key);
    };
    RowStream src(source, table, range), dst(dest, table, range);
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
}

}  // namespace pgtrail
