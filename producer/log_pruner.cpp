#include "producer/log_pruner.hpp"

#include "common/pqxx_compat.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

// The oldest published rows first, walking the seq primary key. A NULL position covers
// nothing, so nothing is deleted before the first batch is stored. Rows of transactions
// still running or committed after the position are invisible in it and stay.
constexpr const char* kPruneChunk = R"sql(
DELETE FROM cdc.log
WHERE seq IN (
    SELECT seq FROM cdc.log
    WHERE pg_visible_in_snapshot(txid, (SELECT snapshot FROM cdc.producer_position))
    ORDER BY seq
    LIMIT $1)
)sql";

}  // namespace

std::int64_t LogPruner::prune(pqxx::connection& conn, std::int64_t published) {
    if (published > 0) pending_ = true;
    std::int64_t deleted = 0;
    while (pending_ && !shutdown_requested()) {
        pqxx::work tx(conn, "prune log");
        const auto chunk = pq::exec0(tx, kPruneChunk, chunk_rows_).affected_rows();
        tx.commit();
        deleted += static_cast<std::int64_t>(chunk);
        pending_ = chunk == static_cast<pqxx::result::size_type>(chunk_rows_);
    }
    return deleted;
}

}  // namespace pgtrail
