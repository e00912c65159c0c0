#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

struct RepairCounts {
    std::int64_t rows = 0;     // keys the source holds: their current row copied over
    std::int64_t deletes = 0;  // keys only the destination held: removed there
};

// Heals differing rows the way an initial load copies them: straight from source to
// destination (COPY), never through cdc.log, without locking the source. `keys` are
// row_to_json texts of the key columns. Per batch of keys, one destination transaction
// locks the table against the consumer's writes, reads the keys' current rows from the
// source, writes them with NULL guards and removes the keys the source lacks. The rows read
// are at least as new as anything the consumer applied before, and every change it applies
// later wins over them, so the destination ends with the newest state either way.
RepairCounts repair_rows(pqxx::connection& source, pqxx::connection& dest, const TableInfo& table,
                         const std::vector<std::string>& keys);

}  // namespace pgtrail
