#pragma once

#include <cstddef>
#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// What db_verify found for one table. A few sample keys of each kind help an operator look.
struct TableComparison {
    TableName table;
    std::string problem;  // set when the tables cannot be compared row by row
    std::string method;   // how it was compared, when that is worth telling
    std::int64_t rows = 0;
    std::int64_t missing = 0;    // on the source, not on the destination
    std::int64_t extra = 0;      // on the destination, not on the source
    std::int64_t different = 0;  // on both, with different values
    std::vector<std::string> sample_missing, sample_extra, sample_different;
    // Keys of every kind (row_to_json of the key columns), kept for --repair up to a cap.
    std::vector<std::string> differing_keys;

    bool equal() const { return problem.empty() && missing == 0 && extra == 0 && different == 0; }
    std::int64_t differing() const { return missing + extra + different; }
};

struct VerifyOptions {
    std::int64_t chunk_rows = 10000;  // rows per hashed key range
    std::size_t keep_keys = 0;        // how many differing keys to keep for --repair
};

// Compares chunk by chunk: both sides hash each primary-key range inside PostgreSQL, and
// only ranges whose count or hash differ are merged row by row. When the key columns sort
// differently on the two sides (collations), ranges would not line up, so the whole table
// is merged in one stream instead. Memory stays bounded either way.
TableComparison compare_table(pqxx::connection& source, pqxx::connection& dest,
                              const TableInfo& table, const VerifyOptions& options);

}  // namespace pgtrail
