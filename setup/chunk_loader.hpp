#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"
#include "common/table_mapping.hpp"

namespace pgtrail {

struct Chunk {
    std::int64_t rows = 0;
    // The chunk's upper bound, where the next one starts; nullopt: it was the last chunk.
    std::optional<std::vector<std::string>> upto;
    bool direct = false;  // COPY went straight into the table (no staging)
};

// Copies the next chunk of an initial load, the rows after key `after` (nullopt: from the
// first) up to `chunk_rows` of them, from the source table into the destination table with
// guard columns NULL, and records it in cdc.table_loads, all in one destination transaction
// that first locks the table against the consumer's writes (never the source's writers).
// Keys the destination already has a replicated row or a tombstone for are left to the
// change stream (docs/design.md, "Initial load", says why that is exact). `direct_allowed`:
// both sides sort the key alike, so on a table without tombstones an empty key range on the
// destination proves no conflict and the rows may go straight into the table.
// With a `mapping` (rules) the chunk always goes through the stage, and the merge writes
// what the rule makes of each staged row that matches its filter into its destination table.
Chunk load_chunk(pqxx::connection& source, pqxx::connection& dest, const TableInfo& table,
                 const TableMapping* mapping, const std::optional<std::vector<std::string>>& after,
                 std::int64_t chunk_rows, bool direct_allowed);

// The merge statements shared with db_verify --repair, on a staging table filled by COPY.
// "CREATE TEMP TABLE ... ON COMMIT DROP" of the table's row type, named kStageTable.
inline constexpr const char* kStageTable = "pg_temp.cdc_load_stage";
std::string create_stage_sql(const TableInfo& table);
// The same with the source table's columns, under rules, where the destination table (a
// slice) does not show them all; named `stage`.
std::string create_source_stage_sql(const TableInfo& table, const std::string& stage);
// The source's column list, quoted, in the table's order: what COPY moves.
std::string copied_columns(const TableInfo& table, const std::string& prefix = "");

}  // namespace pgtrail
