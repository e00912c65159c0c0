#pragma once

#include <string>
#include <vector>

#include "common/table_catalog.hpp"
#include "consumer/table_routes.hpp"

namespace pgtrail {

// How a destination column's value travels from the row JSON to the table. Scalar values
// (numbers, text, dates, enums, ranges...) are COPYed into a stage column of the column's
// own type, so PostgreSQL parses each one once, with the same input function
// json_populate_record would call on the same text. json/jsonb take the JSON text as it is.
// Arrays, composites and domains keep json_populate_record, which converts JSON arrays and
// objects element by element: the stage holds them as one JSON object per row.
enum class StagedAs { scalar, json, structured };

struct StageLayout {
    std::vector<StagedAs> columns;  // one per TableInfo::columns entry, in the same order
    bool any_structured() const;
};

// The catalog query behind a layout: the columns of $1.$2 that are arrays, composites or
// domains.
inline constexpr const char* kStructuredColumnsQuery =
    "SELECT a.attname "
    "FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
    "AND (t.typcategory = 'A' OR t.typtype IN ('c', 'd'))";

// The stage of one destination table, a temporary table COPYed into for each batch: the
// change's op, source time, sequence, source transaction and key JSON, then one column per
// destination column (c1, c2, ... so no user column name can collide with the stage's own), and for
// tables with structured columns their values as one JSON object.
std::string create_stage_table_sql(const TableInfo& table, const StageLayout& layout,
                                   const std::string& stage);

// A source table's stage: the row it holds, how each column is staged, the relation whose
// row type json_populate_record converts structured columns by, and the stage's name.
struct StageShape {
    const TableInfo& row;
    const TableName& row_type;
    const StageLayout& layout;
    const std::string& stage;
};

// The two statements that merge a staged batch into one destination table of its source's,
// as the route maps it. Parameters: $1 the destination table's schema name, $2 its table
// name (for cdc.tombstones).
struct ApplyStatements {
    // Guarded upsert of c/u/r changes (whose row matches the route's filter): a row is written only
    // if the change is newer than the row's (_cdc_ts, _cdc_seq) (a NULL guard, i.e. a row loaded
    // outside pgtrail, is older than any change) and newer than a tombstone for its key.
    std::string upsert;
    // Guarded delete of d changes, and under a row filter of c/u/r changes whose row does not
    // match it, leaving a tombstone for each. A history table records every change with
    // `upsert` and has none.
    std::string remove;
};

ApplyStatements build_apply_statements(const StageShape& shape, const TableRoute& route);

}  // namespace pgtrail
