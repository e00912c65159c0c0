#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"
#include "common/table_rules.hpp"

namespace pgtrail {

// A history table's own columns besides the guard columns, which there hold the change's
// source time and log sequence: the change's op (c, u, d, r) and source transaction. Its
// primary key is the source's key and _cdc_seq.
inline constexpr const char* kHistoryOpColumn = "_cdc_op";
inline constexpr const char* kHistoryTxidColumn = "_cdc_txid";

// What one destination column holds: SQL over the source row, whose columns are in scope
// by their names (a column copied unchanged is just its quoted name).
struct MappedColumn {
    std::string name;
    std::string expression;
    bool copied = false;  // the source column of the same name, unchanged
    bool operator==(const MappedColumn&) const = default;
};

// A source table's changes as one destination table takes them: a rule resolved against the
// source's columns, or, without rules, every column to the same-named table.
struct TableMapping {
    TableName source;
    TableName dest;
    std::vector<MappedColumn> columns;  // in the destination table's order
    std::optional<std::string> filter;  // the rule's where
    SinkMode mode = SinkMode::mirror;
    // soft-delete: the destination's timestamptz column a delete sets; a later write of the
    // key clears it. Not among `columns`.
    std::string deleted_column;
    std::string context;  // for errors, as TableRule::context
    bool operator==(const TableMapping&) const = default;

    // Every source column to the same name, no filter, mode mirror: applied as the table
    // mirrors it.
    bool mirrors(const TableInfo& source_row) const;
};

// `source_row` holds the source's columns and primary key. Throws UsageError naming the rule
// for a column the source lacks, a column list without the whole key, a transform of a key
// column (the key is what every guard and tombstone is by), a soft-delete column that is
// also a mapped column.
TableMapping resolve_rule(const TableRule& rule, const TableInfo& source_row);

// The mapping of a table replicated without rules.
TableMapping mirror_mapping(const TableInfo& table);

// The column's expression, parenthesized unless it is a plain column reference.
std::string value_sql(const MappedColumn& column);
// "(where) IS TRUE", or "true" without a filter: a NULL result does not match, as for
// PostgreSQL's own row filters.
std::string filter_sql(const TableMapping& mapping);

// A select list exposing `source_row`'s columns by name as typed NULLs: the row the rule's
// expressions are checked against.
std::string typed_null_row_sql(const TableInfo& source_row);

// Asks the destination to parse every expression of the mapping over a row of
// `source_row`'s types, one at a time so the error names the rule that fails (a syntax
// error, an unknown column or function, a where that is not boolean). Each check runs in its
// own subtransaction of `tx` and evaluates nothing. Throws UsageError.
void check_expressions(pqxx::dbtransaction& tx, const TableMapping& mapping,
                       const TableInfo& source_row);

}  // namespace pgtrail
