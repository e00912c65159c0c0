#pragma once

#include <string>

#include "common/table_catalog.hpp"

namespace pgtrail {

// The temporary staging table a batch is COPYed into before it is merged. One row per
// reduced change; `tbl` numbers the batch's tables so one COPY serves them all.
extern const char* const kCreateStageTable;
inline constexpr const char* kStageTable = "pg_temp.cdc_stage";

// The two statements that merge a staged batch into one destination table. Parameters:
// $1 the table's number in the stage, $2 its schema name, $3 its table name.
struct ApplyStatements {
    // Guarded upsert of c/u/r changes: a row is written only if the change is newer than
    // the row's (_cdc_ts, _cdc_seq) (a NULL guard, i.e. a row loaded outside pgtrail, is
    // older than any change) and newer than a tombstone for its key.
    std::string upsert;
    // Guarded delete of d changes, leaving a tombstone for each.
    std::string remove;
};

ApplyStatements build_apply_statements(const TableInfo& table);

}  // namespace pgtrail
