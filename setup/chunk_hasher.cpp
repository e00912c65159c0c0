#include "setup/chunk_hasher.hpp"

#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"
#include "setup/row_text.hpp"

namespace pgtrail {
namespace {

// hashtextextended gives 64 bits per row; summing them (as numeric, which cannot overflow)
// makes the result independent of the order rows are read in. It hashes the text's bytes in
// the database's encoding, so across encodings the rows' UTF-8 is hashed instead, as ASCII
// (bytea's escape format), which both sides then spell alike.
std::string summary_sql(const TableInfo& table, const KeyRange& range, bool as_utf8) {
    std::string columns;
    for (const auto& column : table.columns)
        columns += (columns.empty() ? "t." : ", t.") + quote_ident(column.name);
    const std::string text =
        as_utf8 ? "encode(convert_to(" + row_text_sql(table) + ", 'UTF8'), 'escape')"
                : row_text_sql(table);
    return "SELECT count(*), coalesce(sum(hashtextextended(" + text + ", 0)), 0)::text FROM " +
           table.name.quoted() + " t CROSS JOIN LATERAL (SELECT " + columns + ") r" +
           range_condition(table, range);
}

}  // namespace

ChunkSummary summarize_chunk(pqxx::transaction_base& tx, const TableInfo& table,
                             const KeyRange& range, bool as_utf8) {
    // params_from keeps iterators (libpqxx 6.4) into its container, which must outlive the call.
    const std::vector<std::string> parameters = range_parameters(range);
    const pqxx::row row =
        pq::exec1(tx, summary_sql(table, range, as_utf8), pq::params_from(parameters));
    return {row[0].as<std::int64_t>(), row[1].as<std::string>()};
}

}  // namespace pgtrail
