#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "common/table_mapping.hpp"
#include "common/table_rules.hpp"
#include "setup/table_verifier.hpp"

namespace pgtrail {

// One rule as db_verify compares it: the source table, what the rule makes of it, and the
// destination table it fills.
struct RuledComparison {
    TableInfo source;
    TableMapping mapping;
    TableInfo dest;  // the mapping's columns, typed as on the destination
};

// Resolves every rule against the source's catalog and the destination's tables and has the
// destination parse its expressions, before anything is compared. Throws UsageError for a
// bad rule or a source table that is missing or has no key.
std::vector<RuledComparison> ruled_comparisons(pqxx::connection& source, pqxx::connection& dest,
                                               const Rules& rules);

// Compares a destination table with what its rule makes of the source's rows: the source's
// rows are copied into a temporary table on the destination (COPY, one row in memory), the
// rule's filter and expressions are applied there, as the consumer applies them, and the
// result is joined with the destination table by key. `result.table` is the destination
// table.
TableComparison compare_ruled_table(pqxx::connection& source, pqxx::connection& dest,
                                    const RuledComparison& table, const VerifyOptions& options);

}  // namespace pgtrail
