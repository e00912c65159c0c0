#include "producer/log_pruner.hpp"

#include <algorithm>

#include "common/pqxx_compat.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

// The oldest published rows above the floor, walking the seq primary key. A NULL position
// covers nothing, so nothing is deleted before the first batch is stored. Rows of
// transactions still running or committed after the position are invisible in it and stay.
//
// The chunk's keys are gathered into an array first (an InitPlan, run once), so the DELETE
// probes the primary key for each of them whatever the statistics say. Joined as a subquery
// instead, it was planned from cdc.log's statistics, which for a queue are stale by nature
// (analyzed when the table was nearly empty, then a bulk transaction adds a million rows):
// such plans scanned the whole log for every chunk, and one chunk of a 2M-row backlog ran
// for over three minutes while the producer published nothing.
constexpr const char* kPruneChunk = R"sql(
WITH pruned AS (
    DELETE FROM cdc.log
    WHERE seq = ANY (ARRAY(
        SELECT seq FROM cdc.log
        WHERE seq > $1
          AND pg_visible_in_snapshot(txid, (SELECT snapshot FROM cdc.producer_position))
        ORDER BY seq
        LIMIT $2))
    RETURNING seq)
SELECT count(*), coalesce(max(seq), $1) FROM pruned
)sql";

}  // namespace

void LogPruner::prune(pqxx::connection& conn, std::int64_t first_seq) {
    // Rows published before this batch were deleted by the calls that published them (or
    // lie above a floor an interrupted call left), so this batch's rows are all that is new.
    if (first_seq > 0) floor_ = std::min(floor_, first_seq - 1);
    while (floor_ != kNothingLeft && !shutdown_requested()) {
        pqxx::work tx(conn, "prune log");
        const pqxx::row chunk = pq::exec1(tx, kPruneChunk, floor_, chunk_rows_);
        tx.commit();
        floor_ =
            chunk[0].as<std::int64_t>() == chunk_rows_ ? chunk[1].as<std::int64_t>() : kNothingLeft;
    }
}

}  // namespace pgtrail
