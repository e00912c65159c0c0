#include "setup/chunk_hasher.hpp"

#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

// hashtextextended gives 64 bits per row; summing them (as numeric, which cannot overflow)
// makes the result independent of the order rows are read in.
std::string summary_sql(const TableInfo& table, const KeyRange& range) {
    std::string columns;
    for (const auto& column : table.columns)
        columns += (columns.empty() ? "t." : ", t.") + quote_ident(column.name);
    return "SELECT count(*), coalesce(sum(hashtextextended(row_to_json(r)::text, 0)), 0)::text "
           "FROM " +
           table.name.quoted() + " t CROSS JOIN LATERAL (SELECT " + columns + ") r" +
           range_condition(table, range);
}

}  // namespace

ChunkSummary summarize_chunk(pqxx::transaction_base& tx, const TableInfo& table,
                             const KeyRange& range) {
    // make_dynamic_params keeps iterators into its container, which must outlive the call.
    const std::vector<std::string> parameters = range_parameters(range);
    const pqxx::row row = pq::exec1(tx, summary_sql(table, range), pq::params_from(parameters));
    return {row[0].as<std::int64_t>(), row[1].as<std::string>()};
}

}  // namespace pgtrail
