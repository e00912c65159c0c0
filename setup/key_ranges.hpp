#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// A half-open slice of a table in primary-key order: keys above `after` up to and including
// `upto`; an empty side is unbounded. Bounds are key column values as PostgreSQL's text.
struct KeyRange {
    std::vector<std::string> after;
    std::vector<std::string> upto;
};

// Splits the table into ranges of about `chunk_rows` rows: the key of every chunk_rows-th
// row, numbered inside PostgreSQL, so only one key per chunk crosses the wire.
std::vector<KeyRange> chunk_ranges(pqxx::transaction_base& tx, const TableInfo& table,
                                   std::int64_t chunk_rows);

// " WHERE (t.k1, t.k2) > ($1::type, $2::type) AND ..." for a table aliased t, a row-value
// comparison in primary-key order so PostgreSQL walks the key's index; "" when unbounded.
std::string range_condition(const TableInfo& table, const KeyRange& range);

// The parameters range_condition's placeholders stand for, in order.
std::vector<std::string> range_parameters(const KeyRange& range);

// How each key column sorts (its collation, or the database's for the default), so that
// two sides which would cut ranges differently can be told apart.
std::vector<std::string> key_sort_orders(pqxx::transaction_base& tx, const TableInfo& table);

}  // namespace pgtrail
