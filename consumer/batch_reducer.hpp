#pragma once

#include <functional>
#include <vector>

#include "consumer/change.hpp"

namespace pgtrail {

// Keeps only the newest change per (table, key), by (ts_us, seq): one INSERT ... ON
// CONFLICT DO UPDATE cannot touch the same row twice, and older changes would lose to the
// guard anyway. The result is grouped by table, in a stable order. The changes of tables
// `every_change` names (history tables, which record each) are all kept.
std::vector<Change> reduce_batch(
    std::vector<Change> changes, const std::function<bool(const TableName&)>& every_change =
                                     [](const TableName&) { return false; });

}  // namespace pgtrail
