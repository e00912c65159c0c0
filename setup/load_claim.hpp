#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"
#include "common/table_mapping.hpp"
#include "common/table_rules.hpp"

namespace pgtrail {

// A table's initial load (db_setup --snapshot) as cdc.table_loads on the destination
// records it: where the next chunk starts and how many rows earlier runs copied.
struct LoadClaim {
    TableInfo table;  // the source table
    // Under rules, what the load makes of the source's rows and where they go (its dest); else
    // the rows go as they are to the same-named table.
    std::optional<TableMapping> mapping;
    bool already_done = false;                         // a finished load: nothing to copy
    std::optional<std::vector<std::string>> last_key;  // key values; nullopt: from the start
    std::int64_t rows_before = 0;                      // copied by earlier runs
    std::optional<std::int64_t> rows_total;  // counted on the source when the load started
};

// The tables db_setup --snapshot names, as the source's catalog describes them. Throws
// UsageError for one that does not exist or has no primary key (chunks are key ranges).
std::vector<TableInfo> tables_to_load(pqxx::connection& source,
                                      const std::vector<std::string>& requested);

// Claims the loads of `tables` on `dest`, before capture is installed: takes each load's
// advisory lock for the rest of the session (a second db_setup loading the same table is
// refused; a killed one's lock dies with its connection), then reads or starts the load's
// record. Refuses (UsageError) a destination table that holds rows or tombstones no load
// recorded, unless `force`, which empties it (TRUNCATE, its tombstones deleted) and starts
// the load over; `force` restarts a finished or interrupted load the same way.
// The destination's bookkeeping and tables must exist (prepare_destination).
std::vector<LoadClaim> claim_loads(pqxx::connection& dest, const std::vector<TableInfo>& tables,
                                   bool force);
// The same for loads under rules: each mapping's destination table is claimed.
std::vector<LoadClaim> claim_ruled_loads(
    pqxx::connection& dest, const std::vector<std::pair<TableInfo, TableMapping>>& loads,
    bool force);

// The loads --snapshot asks for under rules: each given table through each of its rules.
// Throws UsageError for a table no rule names, or one with a history rule (not built).
std::vector<std::pair<TableInfo, TableMapping>> ruled_loads_of(
    const Rules& rules, const std::vector<TableInfo>& tables);

// The table a load writes: the mapping's destination, else the source's name.
const TableName& loaded_table(const LoadClaim& claim);

// The statements cdc.table_loads is kept with, for the loader in the chunk's transaction.
void record_chunk(pqxx::transaction_base& dest, const TableName& table,
                  const std::vector<std::string>& last_key, std::int64_t rows);
void record_done(pqxx::transaction_base& dest, const TableName& table, std::int64_t rows);
void record_total(pqxx::transaction_base& dest, const TableName& table, std::int64_t total);

}  // namespace pgtrail
