#include "consumer/apply_statements.hpp"

#include <algorithm>

#include "common/sql_names.hpp"

namespace pgtrail {

bool StageLayout::any_structured() const {
    return std::find(columns.begin(), columns.end(), StagedAs::structured) != columns.end();
}

namespace {

constexpr const char* kStagedTs = "'epoch'::timestamptz + s.ts_us * interval '1 microsecond'";

std::string stage_column(std::size_t index) { return "c" + std::to_string(index + 1); }

// A destination column's value in the merge: its stage column, or for a structured one the
// member of the row's JSON object as json_populate_record converts it (r, see from_stage).
std::string staged_value(const TableInfo& table, const StageLayout& layout, std::size_t index) {
    if (layout.columns[index] == StagedAs::structured)
        return "r." + quote_ident(table.columns[index].name);
    return "s." + stage_column(index);
}

std::string from_stage(const TableInfo& table, const StageLayout& layout,
                       const std::string& stage) {
    std::string from = stage + " s";
    if (layout.any_structured())
        from += "\nCROSS JOIN LATERAL json_populate_record(NULL::" + table.name.quoted() +
                ", s.structured) r";
    return from;
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

// The tombstone check ends in OFFSET 0 so PostgreSQL keeps it a per-row probe of the
// tombstones' primary key. As an anti-join it would be planned from statistics, and right
// after a mass delete (a million fresh tombstones autovacuum has not analyzed yet) that plan
// compared every staged row with every tombstone. The uncorrelated test before it runs once
// per statement (an InitPlan), so a table without tombstones skips the probe of every row.
constexpr const char* kNoNewerTombstone =
    "  AND (NOT EXISTS (SELECT 1 FROM cdc.tombstones t0\n"
    "                   WHERE t0.schema_name = $1 AND t0.table_name = $2)\n"
    "       OR NOT EXISTS (SELECT 1 FROM cdc.tombstones t\n"
    "    WHERE t.schema_name = $1 AND t.table_name = $2 AND t.pk = s.pk\n"
    "      AND (t._cdc_ts, t._cdc_seq) >= (";

std::string upsert_sql(const TableInfo& table, const StageLayout& layout,
                       const std::string& stage) {
    const std::string ts = quote_ident(kGuardTsColumn);
    const std::string seq = quote_ident(kGuardSeqColumn);
    std::vector<std::string> columns, selected, assignments, pk;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        const std::string name = quote_ident(table.columns[i].name);
        columns.push_back(name);
        selected.push_back(staged_value(table, layout, i));
        assignments.push_back(name + " = EXCLUDED." + name);
    }
    assignments.push_back(ts + " = EXCLUDED." + ts);
    assignments.push_back(seq + " = EXCLUDED." + seq);
    for (const auto& column : table.pk_columns) pk.push_back(quote_ident(column));

    return "INSERT INTO " + table.name.quoted() + " AS d (" + joined(columns, ", ") + ", " + ts +
           ", " + seq + ")\nSELECT " + joined(selected, ", ") + ", " + kStagedTs +
           ", s.seq\nFROM " + from_stage(table, layout, stage) + "\nWHERE s.op <> 'd'\n" +
           kNoNewerTombstone + kStagedTs + ", s.seq) OFFSET 0))\nON CONFLICT (" + joined(pk, ", ") +
           ") DO UPDATE SET " + joined(assignments, ", ") + "\nWHERE d." + ts + " IS NULL OR (d." +
           ts + ", d." + seq + ") < (EXCLUDED." + ts + ", EXCLUDED." + seq + ")";
}

std::string remove_sql(const TableInfo& table, const StageLayout& layout,
                       const std::string& stage) {
    const std::string ts = quote_ident(kGuardTsColumn);
    const std::string seq = quote_ident(kGuardSeqColumn);
    // Key columns get positional aliases so they cannot collide with the staging columns.
    std::vector<std::string> keys, matches;
    for (std::size_t k = 0; k < table.pk_columns.size(); ++k) {
        const auto column =
            std::find_if(table.columns.begin(), table.columns.end(),
                         [&](const Column& c) { return c.name == table.pk_columns[k]; });
        const auto index = static_cast<std::size_t>(std::distance(table.columns.begin(), column));
        const std::string alias = "_k" + std::to_string(k + 1);
        keys.push_back(staged_value(table, layout, index) + " AS " + alias);
        matches.push_back("d." + quote_ident(table.pk_columns[k]) + " = x." + alias);
    }
    return "WITH doomed AS (\n  SELECT s.pk AS _pk, " + std::string(kStagedTs) +
           " AS _ts, s.seq AS _seq, " + joined(keys, ", ") + "\n  FROM " +
           from_stage(table, layout, stage) +
           "\n  WHERE s.op = 'd'\n), removed AS (\n  DELETE FROM " + table.name.quoted() +
           " d USING doomed x\n  WHERE " + joined(matches, " AND ") + "\n    AND (d." + ts +
           " IS NULL OR (d." + ts + ", d." + seq +
           ") < (x._ts, x._seq))\n)\n"
           "INSERT INTO cdc.tombstones (schema_name, table_name, pk, _cdc_ts, _cdc_seq)\n"
           "SELECT $1, $2, x._pk, x._ts, x._seq FROM doomed x\n"
           "ON CONFLICT (schema_name, table_name, pk) DO UPDATE\n"
           "SET _cdc_ts = EXCLUDED._cdc_ts, _cdc_seq = EXCLUDED._cdc_seq, "
           "written_at = EXCLUDED.written_at\n"
           "WHERE (cdc.tombstones._cdc_ts, cdc.tombstones._cdc_seq) < "
           "(EXCLUDED._cdc_ts, EXCLUDED._cdc_seq)";
}

}  // namespace

std::string create_stage_table_sql(const TableInfo& table, const StageLayout& layout,
                                   const std::string& stage) {
    std::string sql = "CREATE TEMP TABLE IF NOT EXISTS " + stage +
                      " (\n    op \"char\" NOT NULL,\n    ts_us bigint NOT NULL,\n"
                      "    seq bigint NOT NULL,\n    pk text NOT NULL";
    for (std::size_t i = 0; i < table.columns.size(); ++i)
        if (layout.columns[i] != StagedAs::structured)
            sql += ",\n    " + stage_column(i) + " " + table.columns[i].type;
    if (layout.any_structured()) sql += ",\n    structured json";
    return sql + "\n) ON COMMIT DELETE ROWS";
}

ApplyStatements build_apply_statements(const TableInfo& table, const StageLayout& layout,
                                       const std::string& stage) {
    return {upsert_sql(table, layout, stage), remove_sql(table, layout, stage)};
}

}  // namespace pgtrail
