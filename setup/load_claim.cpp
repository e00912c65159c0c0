#include "setup/load_claim.hpp"

#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_arrays.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

// Session-level: held until db_setup ends or its connection dies, never by a killed run.
// Keyed by the table's name, so it can be taken before the destination table exists.
constexpr const char* kTryLoadLock =
    "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('pgtrail initial load'), "
    "pg_catalog.hashtext($1))";

constexpr const char* kRecord =
    "SELECT state, last_key, rows_copied, rows_total FROM cdc.table_loads "
    "WHERE schema_name = $1 AND table_name = $2";

constexpr const char* kTombstones =
    "SELECT EXISTS (SELECT 1 FROM cdc.tombstones WHERE schema_name = $1 AND table_name = $2)";

constexpr const char* kForgetTombstones =
    "DELETE FROM cdc.tombstones WHERE schema_name = $1 AND table_name = $2";

constexpr const char* kStart = R"sql(
INSERT INTO cdc.table_loads (schema_name, table_name, state) VALUES ($1, $2, 'copying')
ON CONFLICT (schema_name, table_name) DO UPDATE
SET state = 'copying', last_key = NULL, rows_copied = 0, rows_total = NULL, chunks = 0, runs = 1,
    started_at = now(), updated_at = now(), finished_at = NULL
)sql";

constexpr const char* kResume =
    "UPDATE cdc.table_loads SET runs = runs + 1, updated_at = now() "
    "WHERE schema_name = $1 AND table_name = $2";

constexpr const char* kChunk = R"sql(
UPDATE cdc.table_loads
SET last_key = $3::text[], rows_copied = rows_copied + $4, chunks = chunks + 1, updated_at = now()
WHERE schema_name = $1 AND table_name = $2
)sql";

constexpr const char* kDone = R"sql(
UPDATE cdc.table_loads
SET state = 'done', rows_copied = rows_copied + $3, chunks = chunks + 1, updated_at = now(),
    finished_at = now()
WHERE schema_name = $1 AND table_name = $2
)sql";

constexpr const char* kTotal =
    "UPDATE cdc.table_loads SET rows_total = $3 WHERE schema_name = $1 AND table_name = $2";

void lock_load(pqxx::connection& dest, const TableName& table) {
    pqxx::nontransaction tx(dest, "claim load");
    if (!pq::exec1(tx, kTryLoadLock, table.quoted())[0].as<bool>())
        throw UsageError("table " + table.display() +
                         " is being loaded by another db_setup right now; wait for it to finish "
                         "or stop it, then run this again to resume");
}

bool holds_rows(pqxx::transaction_base& tx, const TableName& table) {
    return pq::exec1(tx, "SELECT EXISTS (SELECT 1 FROM " + table.quoted() + ")")[0].as<bool>() ||
           pq::exec1(tx, kTombstones, table.schema, table.name)[0].as<bool>();
}

// TRUNCATE waits for the consumer's open transaction on the table and holds the next one
// off for an instant; the source's writers never see it.
void empty_table(pqxx::transaction_base& tx, const TableName& table) {
    pq::exec0(tx, "TRUNCATE " + table.quoted());
    pq::exec0(tx, kForgetTombstones, table.schema, table.name);
    log::warn("destination ", table.display(), ": emptied for a fresh load (--force)");
}

// `target` is the destination table the load writes.
LoadClaim claim(pqxx::connection& dest, const TableInfo& table,
                const std::optional<TableMapping>& mapping, bool force) {
    const TableName& target = mapping ? mapping->dest : table.name;
    lock_load(dest, target);
    pqxx::work tx(dest, "claim load");
    const pqxx::result record = pq::exec(tx, kRecord, target.schema, target.name);
    LoadClaim claim{table, mapping, false, std::nullopt, 0, std::nullopt};
    if (force) {
        empty_table(tx, target);
        pq::exec0(tx, kStart, target.schema, target.name);
    } else if (record.empty()) {
        if (holds_rows(tx, target))
            throw UsageError("destination table " + target.display() +
                             " already holds rows (or tombstones) that no pgtrail load wrote; "
                             "--force empties it first (TRUNCATE) and loads the source's rows");
        pq::exec0(tx, kStart, target.schema, target.name);
    } else if (record[0][0].as<std::string>() == "done") {
        claim.already_done = true;
        claim.rows_before = record[0][2].as<std::int64_t>();
    } else {
        if (!record[0][1].is_null()) claim.last_key = parse_text_array(record[0][1]);
        claim.rows_before = record[0][2].as<std::int64_t>();
        if (!record[0][3].is_null()) claim.rows_total = record[0][3].as<std::int64_t>();
        pq::exec0(tx, kResume, target.schema, target.name);
    }
    tx.commit();
    return claim;
}

}  // namespace

std::vector<TableInfo> tables_to_load(pqxx::connection& source,
                                      const std::vector<std::string>& requested) {
    pqxx::read_transaction tx(source, "tables to load");
    std::vector<TableInfo> tables;
    for (const auto& text : requested) {
        const std::optional<TableName> name = resolve_table(tx, text);
        if (!name) throw UsageError("table " + text + " does not exist on the source");
        std::optional<TableInfo> info = load_table(tx, *name);
        if (!info || info->pk_columns.empty())
            throw UsageError("table " + name->display() +
                             " has no primary key; pgtrail keys every change and loads in key "
                             "order, add one first");
        tables.push_back(std::move(*info));
    }
    return tables;
}

std::vector<LoadClaim> claim_loads(pqxx::connection& dest, const std::vector<TableInfo>& tables,
                                   bool force) {
    std::vector<LoadClaim> claims;
    for (const auto& table : tables) claims.push_back(claim(dest, table, std::nullopt, force));
    return claims;
}

std::vector<LoadClaim> claim_ruled_loads(
    pqxx::connection& dest, const std::vector<std::pair<TableInfo, TableMapping>>& loads,
    bool force) {
    std::vector<LoadClaim> claims;
    for (const auto& [table, mapping] : loads) claims.push_back(claim(dest, table, mapping, force));
    return claims;
}

std::vector<std::pair<TableInfo, TableMapping>> ruled_loads_of(
    const Rules& rules, const std::vector<TableInfo>& tables) {
    std::vector<std::pair<TableInfo, TableMapping>> loads;
    for (const auto& table : tables) {
        const auto ruled = rules.for_source(table.name);
        if (ruled.empty())
            throw UsageError("rules file " + rules.path + " has no rule for " +
                             table.name.display() + ": nothing to load it into");
        for (const TableRule* rule : ruled) {
            if (rule->mode == SinkMode::history)
                throw UsageError(rule->context +
                                 ": --snapshot into a history table is not built yet");
            loads.emplace_back(table, resolve_rule(*rule, table));
        }
    }
    return loads;
}

const TableName& loaded_table(const LoadClaim& claim) {
    return claim.mapping ? claim.mapping->dest : claim.table.name;
}

void record_chunk(pqxx::transaction_base& dest, const TableName& table,
                  const std::vector<std::string>& last_key, std::int64_t rows) {
    pq::exec0(dest, kChunk, table.schema, table.name, text_array_literal(last_key), rows);
}

void record_done(pqxx::transaction_base& dest, const TableName& table, std::int64_t rows) {
    pq::exec0(dest, kDone, table.schema, table.name, rows);
}

void record_total(pqxx::transaction_base& dest, const TableName& table, std::int64_t total) {
    pq::exec0(dest, kTotal, table.schema, table.name, total);
}

}  // namespace pgtrail
