#include "setup/chunk_loader.hpp"

#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"
#include "setup/load_claim.hpp"

namespace pgtrail {
namespace {

// Losing a chunk's commit to a destination crash loses its cdc.table_loads update with it,
// and the rerun copies the chunk again: nothing to wait for the WAL flush for.
constexpr const char* kNoFlushWait = "SET LOCAL synchronous_commit = off";

std::string key_list(const TableInfo& table, const std::string& prefix) {
    std::string list;
    for (const auto& pk : table.pk_columns)
        list += (list.empty() ? "" : ", ") + prefix + quote_ident(pk);
    return list;
}

std::string placeholders(std::size_t count) {
    std::string list;
    for (std::size_t i = 1; i <= count; ++i) list += (i > 1 ? ", $" : "$") + std::to_string(i);
    return list;
}

// The key of the chunk_rows-th row after `after`, read along the key's index.
std::optional<std::vector<std::string>> upper_bound(
    pqxx::transaction_base& tx, const TableInfo& table,
    const std::optional<std::vector<std::string>>& after, std::int64_t chunk_rows) {
    std::string text_keys;
    for (const auto& pk : table.pk_columns)
        text_keys += (text_keys.empty() ? "t." : ", t.") + quote_ident(pk) + "::text";
    std::string sql = "SELECT " + text_keys + " FROM " + table.name.quoted() + " t";
    std::vector<std::string> parameters;
    if (after) {
        sql += " WHERE (" + key_list(table, "t.") + ") > (" + placeholders(after->size()) + ")";
        parameters = *after;
    }
    sql += " ORDER BY " + key_list(table, "t.") + " OFFSET " + std::to_string(chunk_rows - 1) +
           " LIMIT 1";
    const pqxx::result rows = pq::exec(tx, sql, pq::params_from(parameters));
    if (rows.empty()) return std::nullopt;
    std::vector<std::string> key;
    for (const auto& field : rows[0]) key.push_back(field.as<std::string>());
    return key;
}

// COPY takes no parameters, so the chunk's bounds are quoted literals, typed by the key
// columns they are compared with; every statement of the chunk uses this one form.
std::string quoted_row(pqxx::transaction_base& tx, const std::vector<std::string>& values) {
    std::string list;
    for (const auto& value : values) list += (list.empty() ? "" : ", ") + tx.quote(value);
    return "(" + list + ")";
}

std::string range_sql(pqxx::transaction_base& tx, const TableInfo& table,
                      const std::optional<std::vector<std::string>>& after,
                      const std::optional<std::vector<std::string>>& upto) {
    const std::string row = "(" + key_list(table, "t.") + ")";
    std::string sql;
    if (after) sql += " WHERE " + row + " > " + quoted_row(tx, *after);
    if (upto) sql += (after ? " AND " : " WHERE ") + row + " <= " + quoted_row(tx, *upto);
    return sql;
}

// Copied rows enter with NULL guards, so every change the stream applies later wins over
// them; a key with a tombstone or a replicated (guarded) row is the stream's already. The
// tombstone probe ends in OFFSET 0 to stay a lookup of the tombstones' primary key per row
// (consumer/apply_statements.cpp says why).
std::string merge_sql(const TableInfo& table) {
    std::vector<std::string> assignments;
    for (const auto& column : table.columns)
        assignments.push_back(quote_ident(column.name) + " = EXCLUDED." + quote_ident(column.name));
    std::string set;
    for (const auto& a : assignments) set += (set.empty() ? "" : ", ") + a;
    return "INSERT INTO " + table.name.quoted() + " AS d (" + copied_columns(table) + ")\nSELECT " +
           copied_columns(table, "s.") + " FROM " + kStageTable +
           " s\nWHERE NOT EXISTS (SELECT 1 FROM cdc.tombstones t WHERE t.schema_name = $1 AND "
           "t.table_name = $2\n  AND t.pk = (SELECT pg_catalog.row_to_json(k.*)::text FROM "
           "(SELECT " +
           key_list(table, "s.") + ") k) OFFSET 0)\nON CONFLICT (" + key_list(table, "") +
           ") DO UPDATE SET " + set + "\nWHERE d." + quote_ident(kGuardTsColumn) + " IS NULL";
}

// The same merge under a rule: the staged source rows that match its filter, as it maps them,
// into its destination table (a soft-delete table's rows as not deleted).
std::string ruled_merge_sql(const TableInfo& table, const TableMapping& mapping) {
    std::string columns, values, set;
    for (const auto& column : mapping.columns) {
        const std::string name = quote_ident(column.name);
        columns += (columns.empty() ? "" : ", ") + name;
        values += (values.empty() ? "" : ", ") + value_sql(column);
        set += (set.empty() ? "" : ", ") + name + " = EXCLUDED." + name;
    }
    if (mapping.mode == SinkMode::soft_delete) {
        const std::string deleted = quote_ident(mapping.deleted_column);
        columns += ", " + deleted;
        values += ", NULL::timestamptz";
        set += ", " + deleted + " = NULL";
    }
    return "INSERT INTO " + mapping.dest.quoted() + " AS d (" + columns + ")\nSELECT " + values +
           " FROM " + kStageTable + " src\nWHERE " + filter_sql(mapping) +
           "\n  AND NOT EXISTS (SELECT 1 FROM cdc.tombstones t WHERE t.schema_name = $1 AND "
           "t.table_name = $2\n  AND t.pk = (SELECT pg_catalog.row_to_json(k.*)::text FROM "
           "(SELECT " +
           key_list(table, "src.") + ") k) OFFSET 0)\nON CONFLICT (" + key_list(table, "") +
           ") DO UPDATE SET " + set + "\nWHERE d." + quote_ident(kGuardTsColumn) + " IS NULL";
}

// A key with a tombstone is the stream's, and the range check cannot see tombstones (their
// keys are JSON text): only a table without any may take the direct path. Under the chunk's
// lock the consumer can write no new one for it.
constexpr const char* kHasTombstones =
    "SELECT EXISTS (SELECT 1 FROM cdc.tombstones WHERE schema_name = $1 AND table_name = $2)";

}  // namespace

std::string create_source_stage_sql(const TableInfo& table, const std::string& stage) {
    std::string definition;
    for (const auto& column : table.columns)
        definition +=
            (definition.empty() ? "" : ", ") + quote_ident(column.name) + " " + column.type;
    return "CREATE TEMP TABLE " + stage + " (" + definition + ") ON COMMIT DROP";
}

std::string create_stage_sql(const TableInfo& table) {
    return std::string("CREATE TEMP TABLE ") + kStageTable + " (LIKE " + table.name.quoted() +
           ") ON COMMIT DROP";
}

std::string copied_columns(const TableInfo& table, const std::string& prefix) {
    std::string list;
    for (const auto& column : table.columns)
        list += (list.empty() ? "" : ", ") + prefix + quote_ident(column.name);
    return list;
}

Chunk load_chunk(pqxx::connection& source, pqxx::connection& dest, const TableInfo& table,
                 const TableMapping* mapping, const std::optional<std::vector<std::string>>& after,
                 std::int64_t chunk_rows, bool direct_allowed) {
    const TableName& into = mapping ? mapping->dest : table.name;
    const std::string target = into.quoted();
    const std::string source_table = table.name.quoted();
    pqxx::work dtx(dest, "load chunk");
    pq::exec0(dtx, kNoFlushWait);
    // Conflicts with the consumer's writes, not its reads: the checks for replicated rows and
    // tombstones below and the insert are one step for a consumer applying a delete.
    pq::exec0(dtx, "LOCK TABLE " + target + " IN SHARE ROW EXCLUSIVE MODE");
    // Read only after the lock: the rows copied are at least as new as anything the
    // consumer applied to this table so far.
    pqxx::read_transaction stx(source, "load chunk");
    Chunk chunk;
    chunk.upto = upper_bound(stx, table, after, chunk_rows);
    const std::string query = "SELECT " + copied_columns(table, "t.") + " FROM " + source_table +
                              " t" + range_sql(stx, table, after, chunk.upto);
    chunk.direct =
        mapping == nullptr && direct_allowed &&
        !pq::exec1(dtx, kHasTombstones, table.name.schema, table.name.name)[0].as<bool>() &&
        !pq::exec1(dtx, "SELECT EXISTS (SELECT 1 FROM " + target + " t" +
                            range_sql(dtx, table, after, chunk.upto) + ")")[0]
             .as<bool>();
    // The rows copied are counted where they landed: libpqxx passes COPY lines through
    // without telling how many.
    if (chunk.direct) {
        pq::copy_rows(stx, query, dtx, target, copied_columns(table));
        chunk.rows = pq::exec1(dtx, "SELECT count(*) FROM " + target + " t" +
                                        range_sql(dtx, table, after, chunk.upto))[0]
                         .as<std::int64_t>();
    } else {
        pq::exec0(dtx,
                  mapping ? create_source_stage_sql(table, kStageTable) : create_stage_sql(table));
        pq::copy_rows(stx, query, dtx, kStageTable, copied_columns(table));
        chunk.rows = pq::exec1(dtx, std::string("SELECT count(*) FROM ") + kStageTable)[0]
                         .as<std::int64_t>();
        pq::exec0(dtx, mapping ? ruled_merge_sql(table, *mapping) : merge_sql(table), into.schema,
                  into.name);
    }
    stx.commit();
    if (chunk.upto)
        record_chunk(dtx, into, *chunk.upto, chunk.rows);
    else
        record_done(dtx, into, chunk.rows);
    dtx.commit();
    return chunk;
}

}  // namespace pgtrail
