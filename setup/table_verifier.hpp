#pragma once

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
    std::int64_t rows = 0;
    std::int64_t missing = 0;    // on the source, not on the destination
    std::int64_t extra = 0;      // on the destination, not on the source
    std::int64_t different = 0;  // on both, with different values
    std::vector<std::string> sample_missing, sample_extra, sample_different;

    bool equal() const { return problem.empty() && missing == 0 && extra == 0 && different == 0; }
};

// Streams both tables in key order (bounded memory) and compares them row by row, on the
// source's columns, ignoring the destination's guard columns.
TableComparison compare_table(pqxx::connection& source, pqxx::connection& dest,
                              const TableInfo& table);

}  // namespace pgtrail
