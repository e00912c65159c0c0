#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "common/table_catalog.hpp"
#include "setup/key_ranges.hpp"

namespace pgtrail {

// A range's row count and an order-independent hash of its rows, both computed inside
// PostgreSQL: two sides with equal summaries hold the same rows (up to a 64-bit collision).
struct ChunkSummary {
    std::int64_t rows = 0;
    std::string hash;  // a numeric sum, kept as text: it may exceed 64 bits
    bool operator==(const ChunkSummary&) const = default;
};

// Summarizes `range` of the table on one side, over the source's columns (`table`), so a
// destination's guard columns are left out. Rows are hashed by row_text_sql (row_text.hpp).
// `as_utf8` when the two databases' encodings differ: both sides must then pass it.
ChunkSummary summarize_chunk(pqxx::transaction_base& tx, const TableInfo& table,
                             const KeyRange& range, bool as_utf8);

}  // namespace pgtrail
