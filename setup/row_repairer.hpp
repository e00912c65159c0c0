#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

struct RepairCounts {
    std::int64_t rows = 0;     // keys the source holds: enqueued as snapshot reads (op r)
    std::int64_t deletes = 0;  // keys the source lacks: enqueued as deletes (op d)
};

// Heals differing rows through the pipeline: enqueues each key's current state on the
// source into cdc.log, the row for keys it holds, a delete (key-only before image) for keys
// it lacks. `keys` are row_to_json texts of the key columns. Takes SHARE lock on the table
// first, so every concurrent write is logged either before the repair or after it, with a
// later clock_timestamp(), and the destination ends with the newest state either way.
RepairCounts enqueue_repairs(pqxx::connection& source, const TableInfo& table,
                             const std::vector<std::string>& keys);

}  // namespace pgtrail
