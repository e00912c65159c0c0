#include "producer/log_reader.hpp"

#include "common/errors.hpp"
#include "common/pg_arrays.hpp"
#include "common/pqxx_compat.hpp"

namespace pgtrail {
namespace {

// The first statement of the transaction fixes its snapshot, so `current` is exactly the
// snapshot every following read of this batch sees.
constexpr const char* kTakeSnapshot = "SELECT pg_current_snapshot()::text, current_database()";

constexpr const char* kReadPosition = "SELECT snapshot::text FROM cdc.producer_position";

constexpr const char* kPositionAhead = R"sql(
SELECT pg_snapshot_xmax($1::pg_snapshot) > pg_snapshot_xmax($2::pg_snapshot)
)sql";

constexpr const char* kCapturedTables =
    "SELECT relid, schema_name, table_name, pk_columns FROM cdc.captured_tables";

// Visible in the current snapshot and not in the stored position. The seq primary key
// serves the keyset paging; the log holds little more than unpublished rows because the
// producer prunes published ones after every batch (log_pruner.hpp).
constexpr const char* kReadPage = R"sql(
SELECT seq, txid::text, (extract(epoch FROM ts) * 1000000)::bigint, relid, op, before, after,
       before_json_nulls, after_json_nulls
FROM cdc.log
WHERE seq > $1
  AND pg_visible_in_snapshot(txid, $2::pg_snapshot)
  AND ($3::pg_snapshot IS NULL OR NOT pg_visible_in_snapshot(txid, $3::pg_snapshot))
ORDER BY seq
LIMIT $4
)sql";

constexpr const char* kCountBatch = R"sql(
SELECT count(*)
FROM cdc.log
WHERE pg_visible_in_snapshot(txid, $1::pg_snapshot)
  AND ($2::pg_snapshot IS NULL OR NOT pg_visible_in_snapshot(txid, $2::pg_snapshot))
)sql";

constexpr const char* kStorePosition =
    "UPDATE cdc.producer_position SET snapshot = $1::pg_snapshot, updated_at = now()";

}  // namespace

SnapshotBatch::SnapshotBatch(pqxx::connection& conn) : tx_(conn, "snapshot batch") {
    const pqxx::row snapshot = pq::exec1(tx_, kTakeSnapshot);
    current_ = snapshot[0].as<std::string>();
    source_db_ = snapshot[1].as<std::string>();
    const pqxx::row position = pq::exec1(tx_, kReadPosition);
    if (!position[0].is_null()) previous_ = position[0].as<std::string>();
    check_position_not_ahead();
    load_tables();
}

void SnapshotBatch::check_position_not_ahead() {
    if (!previous_) return;
    if (!pq::exec1(tx_, kPositionAhead, *previous_, current_)[0].as<bool>()) return;
    throw RuntimeFailure(
        "the stored producer position (" + *previous_ +
        ") lies ahead of this cluster's transactions (" + current_ +
        "), as after a restore into another cluster; nothing was published. To republish "
        "the whole log from the start, run on the source: UPDATE cdc.producer_position SET "
        "snapshot = NULL");
}

void SnapshotBatch::load_tables() {
    for (const auto& row : tx_.exec(kCapturedTables)) {
        CapturedTable table{{row[1].as<std::string>(), row[2].as<std::string>()},
                            parse_text_array(row[3])};
        tables_.emplace(row[0].as<std::uint32_t>(), std::move(table));
    }
}

pqxx::result SnapshotBatch::next_page(int limit) {
    const std::optional<std::string> previous = previous_;
    pqxx::result page = pq::exec(tx_, kReadPage, last_seq_, current_, previous, limit);
    if (!page.empty()) {
        if (rows_read_ == 0) first_seq_ = page.front()[0].as<std::int64_t>();
        last_seq_ = page.back()[0].as<std::int64_t>();
        rows_read_ += static_cast<std::int64_t>(page.size());
    }
    return page;
}

std::int64_t SnapshotBatch::count_rows() {
    const std::optional<std::string> previous = previous_;
    return pq::exec1(tx_, kCountBatch, current_, previous)[0].as<std::int64_t>();
}

void SnapshotBatch::commit_published() {
    if (rows_read_ > 0) pq::exec0(tx_, kStorePosition, current_);
    tx_.commit();
}

LogRow log_row(const pqxx::row& row) {
    LogRow out;
    out.seq = row[0].as<std::int64_t>();
    out.txid = std::string_view(row[1].c_str(), row[1].size());
    out.ts_us = row[2].as<std::int64_t>();
    out.relid = row[3].as<std::uint32_t>();
    out.op = row[4].c_str()[0];
    if (!row[5].is_null()) out.before = std::string_view(row[5].c_str(), row[5].size());
    if (!row[6].is_null()) out.after = std::string_view(row[6].c_str(), row[6].size());
    if (!row[7].is_null()) out.before_json_nulls = parse_text_array(row[7]);
    if (!row[8].is_null()) out.after_json_nulls = parse_text_array(row[8]);
    return out;
}

}  // namespace pgtrail
