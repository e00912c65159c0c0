#include "consumer/apply_statements.hpp"

#include "common/sql_names.hpp"

namespace pgtrail {

std::string create_stage_table_sql(StagedText staged) {
    const std::string text = staged == StagedText::utf8_text ? "text" : "bytea";
    const std::string json = staged == StagedText::utf8_text ? "json" : "bytea";
    return "CREATE TEMP TABLE IF NOT EXISTS cdc_stage (\n"
           "    tbl   integer NOT NULL,\n"
           "    op    \"char\" NOT NULL,\n"
           "    ts_us bigint NOT NULL,\n"
           "    seq   bigint NOT NULL,\n"
           "    pk    " +
           text +
           " NOT NULL,\n"
           "    image " +
           json +
           " NOT NULL,\n"
           "    json_nulls integer[]\n"
           ") ON COMMIT DELETE ROWS";
}

namespace {

constexpr const char* kStagedTs = "'epoch'::timestamptz + s.ts_us * interval '1 microsecond'";

// The staged key and row as text and json in the destination's encoding.
struct Staged {
    std::string pk;
    std::string image;
};

Staged staged_sql(StagedText staged) {
    if (staged == StagedText::utf8_text) return {"s.pk", "s.image"};
    return {"convert_from(s.pk, 'UTF8')", "convert_from(s.image, 'UTF8')::json"};
}

// A column's value from the staged image r. json_populate_record reads JSON null as SQL
// NULL, so for json/jsonb columns the staged positions of JSON nulls (Change::
// json_null_columns) say which NULLs are JSON null.
std::string staged_value(const Column& column, std::size_t position) {
    const std::string value = "r." + quote_ident(column.name);
    if (column.type != "json" && column.type != "jsonb") return value;
    return "CASE WHEN " + std::to_string(position) +
           " = ANY (s.json_nulls) THEN 'null'::" + column.type + " ELSE " + value + " END";
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
// compared every staged row with every tombstone.
std::string upsert_sql(const TableInfo& table, const std::string& target, const Staged& staged) {
    const std::string ts = quote_ident(kGuardTsColumn);
    const std::string seq = quote_ident(kGuardSeqColumn);
    std::vector<std::string> columns, selected, assignments, pk;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        const Column& column = table.columns[i];
        const std::string name = quote_ident(column.name);
        columns.push_back(name);
        selected.push_back(staged_value(column, i + 1));
        assignments.push_back(name + " = EXCLUDED." + name);
    }
    assignments.push_back(ts + " = EXCLUDED." + ts);
    assignments.push_back(seq + " = EXCLUDED." + seq);
    for (const auto& column : table.pk_columns) pk.push_back(quote_ident(column));

    return "INSERT INTO " + target + " AS d (" + joined(columns, ", ") + ", " + ts + ", " + seq +
           ")\nSELECT " + joined(selected, ", ") + ", " + kStagedTs + ", s.seq\nFROM " +
           kStageTable + " s\nCROSS JOIN LATERAL json_populate_record(NULL::" + target + ", " +
           staged.image +
           ") r\nWHERE s.tbl = $1 AND s.op <> 'd'\n"
           "  AND NOT EXISTS (SELECT 1 FROM cdc.tombstones t\n"
           "    WHERE t.schema_name = $2 AND t.table_name = $3 AND t.pk = " +
           staged.pk +
           "\n"
           "      AND (t._cdc_ts, t._cdc_seq) >= (" +
           kStagedTs + ", s.seq) OFFSET 0)\nON CONFLICT (" + joined(pk, ", ") + ") DO UPDATE SET " +
           joined(assignments, ", ") + "\nWHERE d." + ts + " IS NULL OR (d." + ts + ", d." + seq +
           ") < (EXCLUDED." + ts + ", EXCLUDED." + seq + ")";
}

std::string remove_sql(const TableInfo& table, const std::string& target, const Staged& staged) {
    const std::string ts = quote_ident(kGuardTsColumn);
    const std::string seq = quote_ident(kGuardSeqColumn);
    // Key columns get positional aliases so they cannot collide with the staging columns.
    std::vector<std::string> keys, matches;
    for (std::size_t i = 0; i < table.pk_columns.size(); ++i) {
        const std::string alias = "_k" + std::to_string(i + 1);
        keys.push_back("r." + quote_ident(table.pk_columns[i]) + " AS " + alias);
        matches.push_back("d." + quote_ident(table.pk_columns[i]) + " = x." + alias);
    }
    return "WITH doomed AS (\n  SELECT " + staged.pk + " AS _pk, " + std::string(kStagedTs) +
           " AS _ts, s.seq AS _seq, " + joined(keys, ", ") + "\n  FROM " + kStageTable +
           " s\n  CROSS JOIN LATERAL json_populate_record(NULL::" + target + ", " + staged.image +
           ") r\n  WHERE s.tbl = $1 AND s.op = 'd'\n), removed AS (\n  DELETE FROM " + target +
           " d USING doomed x\n  WHERE " + joined(matches, " AND ") + "\n    AND (d." + ts +
           " IS NULL OR (d." + ts + ", d." + seq +
           ") < (x._ts, x._seq))\n)\n"
           "INSERT INTO cdc.tombstones (schema_name, table_name, pk, _cdc_ts, _cdc_seq)\n"
           "SELECT $2, $3, x._pk, x._ts, x._seq FROM doomed x\n"
           "ON CONFLICT (schema_name, table_name, pk) DO UPDATE\n"
           "SET _cdc_ts = EXCLUDED._cdc_ts, _cdc_seq = EXCLUDED._cdc_seq, "
           "written_at = EXCLUDED.written_at\n"
           "WHERE (cdc.tombstones._cdc_ts, cdc.tombstones._cdc_seq) < "
           "(EXCLUDED._cdc_ts, EXCLUDED._cdc_seq)";
}

}  // namespace

ApplyStatements build_apply_statements(const TableInfo& table, StagedText staged) {
    const std::string target = table.name.quoted();
    const Staged sql = staged_sql(staged);
    return {upsert_sql(table, target, sql), remove_sql(table, target, sql)};
}

}  // namespace pgtrail
