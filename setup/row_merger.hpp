#pragma once

#include <cstddef>
#include <pqxx/pqxx>

#include "common/table_catalog.hpp"
#include "setup/key_ranges.hpp"
#include "setup/table_verifier.hpp"

namespace pgtrail {

// Streams `range` of both sides in the same key order (bounded memory) and compares them
// row by row on the source's columns, adding what differs to `result`. Each transaction
// must be on a pinned session (common/session_settings.hpp), so both print values alike.
void merge_rows(pqxx::transaction_base& source, pqxx::transaction_base& dest,
                const TableInfo& table, const KeyRange& range, std::size_t keep_keys,
                TableComparison& result);

}  // namespace pgtrail
