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
std::string staged_value(const StageShape& shape, std::size_t index) {
    if (shape.layout.columns[index] == StagedAs::structured)
        return "r." + quote_ident(shape.row.columns[index].name);
    return "s." + stage_column(index);
}

std::string from_stage(const StageShape& shape) {
    std::string from = shape.stage + " s";
    if (shape.layout.any_structured())
        from += "\nCROSS JOIN LATERAL json_populate_record(NULL::" + shape.row_type.quoted() +
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

// Where the merge reads a destination column's value: the staged column itself when the
// table is mirrored, else the value the rule computes in the lateral subquery v.
std::string routed_value(const StageShape& shape, const TableRoute& route, std::size_t index) {
    if (route.mapping.mirrors(shape.row)) return staged_value(shape, index);
    return "v._v" + std::to_string(index + 1);
}

// The source row under the names of its columns, as a rule's expressions read it. Only the
// row's own columns are in scope in it, so an expression cannot reach the stage's columns.
std::string source_row_sql(const StageShape& shape) {
    std::vector<std::string> columns;
    for (std::size_t i = 0; i < shape.row.columns.size(); ++i)
        columns.push_back(staged_value(shape, i) + " AS " + quote_ident(shape.row.columns[i].name));
    return "(SELECT " + joined(columns, ", ") + ") src";
}

// The lateral subquery v of a ruled table: its destination values (when `values`) and
// whether the row matches the rule's filter, as _keep.
std::string rule_lateral(const StageShape& shape, const TableRoute& route, bool values) {
    std::vector<std::string> items;
    if (values)
        for (std::size_t i = 0; i < route.mapping.columns.size(); ++i)
            items.push_back(value_sql(route.mapping.columns[i]) + " AS _v" + std::to_string(i + 1));
    items.push_back(filter_sql(route.mapping) + " AS _keep");
    return "\nCROSS JOIN LATERAL (SELECT " + joined(items, ", ") + " FROM " +
           source_row_sql(shape) + ") v";
}

std::string upsert_sql(const StageShape& shape, const TableRoute& route) {
    const std::string ts = quote_ident(kGuardTsColumn);
    const std::string seq = quote_ident(kGuardSeqColumn);
    const bool mirrored = route.mapping.mirrors(shape.row);
    std::vector<std::string> columns, selected, assignments, pk;
    for (std::size_t i = 0; i < route.mapping.columns.size(); ++i) {
        const std::string name = quote_ident(route.mapping.columns[i].name);
        columns.push_back(name);
        selected.push_back(routed_value(shape, route, i));
        assignments.push_back(name + " = EXCLUDED." + name);
    }
    // A write of a soft-deleted key revives the row.
    if (route.mapping.mode == SinkMode::soft_delete) {
        const std::string deleted = quote_ident(route.mapping.deleted_column);
        columns.push_back(deleted);
        selected.push_back("NULL::timestamptz");
        assignments.push_back(deleted + " = NULL");
    }
    assignments.push_back(ts + " = EXCLUDED." + ts);
    assignments.push_back(seq + " = EXCLUDED." + seq);
    for (const auto& column : route.dest.pk_columns) pk.push_back(quote_ident(column));

    std::string from = from_stage(shape);
    std::string matching = "WHERE s.op <> 'd'\n";
    if (!mirrored) {
        from += rule_lateral(shape, route, true);
        if (route.mapping.filter) matching = "WHERE s.op <> 'd' AND v._keep\n";
    }
    return "INSERT INTO " + route.dest.name.quoted() + " AS d (" + joined(columns, ", ") + ", " +
           ts + ", " + seq + ")\nSELECT " + joined(selected, ", ") + ", " + kStagedTs +
           ", s.seq\nFROM " + from + "\n" + matching + kNoNewerTombstone + kStagedTs +
           ", s.seq) OFFSET 0))\nON CONFLICT (" + joined(pk, ", ") + ") DO UPDATE SET " +
           joined(assignments, ", ") + "\nWHERE d." + ts + " IS NULL OR (d." + ts + ", d." + seq +
           ") < (EXCLUDED." + ts + ", EXCLUDED." + seq + ")";
}

// A history table gets one row per change, the row after it or, for a delete, before it.
// The change's key and sequence are the row's key, so a change delivered again is recorded
// once; the other changes are not guarded against each other, as each is its own row.
std::string history_sql(const StageShape& shape, const TableRoute& route) {
    std::vector<std::string> columns, selected, pk;
    for (std::size_t i = 0; i < route.mapping.columns.size(); ++i) {
        columns.push_back(quote_ident(route.mapping.columns[i].name));
        selected.push_back(routed_value(shape, route, i));
    }
    for (const char* own : {kHistoryOpColumn, kGuardTsColumn, kGuardSeqColumn, kHistoryTxidColumn})
        columns.push_back(quote_ident(own));
    for (const auto& column : route.dest.pk_columns) pk.push_back(quote_ident(column));
    return "INSERT INTO " + route.dest.name.quoted() + " (" + joined(columns, ", ") + ")\nSELECT " +
           joined(selected, ", ") + ", s.op::text, " + kStagedTs + ", s.seq, s.txid\nFROM " +
           from_stage(shape) + rule_lateral(shape, route, true) + "\nON CONFLICT (" +
           joined(pk, ", ") + ") DO NOTHING";
}

// A row filter makes an insert or update whose row does not match a delete: the row left
// the slice, or never was in it (PostgreSQL's row filters turn such an update into a delete
// too). Deleting what is not there costs a tombstone, which keeps an older change that does
// match from bringing the row back.
std::string remove_sql(const StageShape& shape, const TableRoute& route) {
    const std::string ts = quote_ident(kGuardTsColumn);
    const std::string seq = quote_ident(kGuardSeqColumn);
    const TableInfo& row = shape.row;
    // Key columns get positional aliases so they cannot collide with the staging columns.
    std::vector<std::string> keys, matches;
    for (std::size_t k = 0; k < row.pk_columns.size(); ++k) {
        const auto column =
            std::find_if(row.columns.begin(), row.columns.end(),
                         [&](const Column& c) { return c.name == row.pk_columns[k]; });
        const auto index = static_cast<std::size_t>(std::distance(row.columns.begin(), column));
        const std::string alias = "_k" + std::to_string(k + 1);
        keys.push_back(staged_value(shape, index) + " AS " + alias);
        matches.push_back("d." + quote_ident(row.pk_columns[k]) + " = x." + alias);
    }
    std::string from = from_stage(shape);
    // CASE, so the filter is never evaluated over a delete's row, which holds only its key.
    std::string doomed = "WHERE s.op = 'd'";
    if (route.mapping.filter) {
        from += rule_lateral(shape, route, false);
        doomed = "WHERE CASE WHEN s.op = 'd' THEN true ELSE NOT v._keep END";
    }
    // soft-delete keeps the row, marked with the delete's time and guarded by it like any
    // write; the tombstone still covers a key the table does not hold.
    const std::string removal =
        route.mapping.mode == SinkMode::soft_delete
            ? "UPDATE " + route.dest.name.quoted() + " d SET " +
                  quote_ident(route.mapping.deleted_column) + " = x._ts, " + ts + " = x._ts, " +
                  seq + " = x._seq FROM doomed x"
            : "DELETE FROM " + route.dest.name.quoted() + " d USING doomed x";
    return "WITH doomed AS (\n  SELECT s.pk AS _pk, " + std::string(kStagedTs) +
           " AS _ts, s.seq AS _seq, " + joined(keys, ", ") + "\n  FROM " + from + "\n  " + doomed +
           "\n), removed AS (\n  " + removal + "\n  WHERE " + joined(matches, " AND ") +
           "\n    AND (d." + ts + " IS NULL OR (d." + ts + ", d." + seq +
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
                      "    seq bigint NOT NULL,\n    txid bigint,\n    pk text NOT NULL";
    for (std::size_t i = 0; i < table.columns.size(); ++i)
        if (layout.columns[i] != StagedAs::structured)
            sql += ",\n    " + stage_column(i) + " " + table.columns[i].type;
    if (layout.any_structured()) sql += ",\n    structured json";
    return sql + "\n) ON COMMIT DELETE ROWS";
}

ApplyStatements build_apply_statements(const StageShape& shape, const TableRoute& route) {
    if (route.mapping.mode == SinkMode::history) return {history_sql(shape, route), ""};
    return {upsert_sql(shape, route), remove_sql(shape, route)};
}

}  // namespace pgtrail
