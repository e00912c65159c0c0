#pragma once

#include <string>

#include "common/table_catalog.hpp"

namespace pgtrail {

// How the stage holds a change's key and row text. libpqxx 6's COPY writes every non-ASCII
// byte as an octal escape, which PostgreSQL stores as it is, unconverted from the client
// encoding: right for a UTF-8 destination, wrong for any other. There the text is staged as
// its UTF-8 bytes (bytea, hex: ASCII on the wire) and converted by convert_from, which also
// refuses a character the destination's encoding lacks.
enum class StagedText { utf8_text, utf8_bytes };

// The temporary staging table a batch is COPYed into before it is merged. One row per
// reduced change; `tbl` numbers the batch's tables so one COPY serves them all.
std::string create_stage_table_sql(StagedText staged);
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

ApplyStatements build_apply_statements(const TableInfo& table,
                                       StagedText staged = StagedText::utf8_text);

}  // namespace pgtrail
