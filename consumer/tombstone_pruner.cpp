#include "consumer/tombstone_pruner.hpp"

#include <algorithm>

#include "common/cli_options.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_session.hpp"
#include "common/pqxx_compat.hpp"
#include "common/retry_policy.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

// A tenth of the retention keeps the table within about 10% of what the retention implies;
// at least once a minute, at most once a second.
std::chrono::seconds prune_interval(std::chrono::seconds retention) {
    return std::clamp<std::chrono::seconds>(retention / 10, std::chrono::seconds(1),
                                            std::chrono::minutes(1));
}

constexpr int kChunkRows = 5000;
constexpr int kChunksPerCall = 20;

constexpr const char* kHasWrittenAt = R"sql(
SELECT EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'cdc.tombstones'::regclass AND attname = 'written_at'
                 AND NOT attisdropped)
)sql";

// Oldest first along the written_at index. The age test is repeated on the deleted row: if
// a delete of the same key rewrote the tombstone after the subquery read it, the row is
// re-checked in its new version and kept.
constexpr const char* kPruneChunk = R"sql(
DELETE FROM cdc.tombstones
WHERE written_at < now() - $1::bigint * interval '1 second'
  AND (schema_name, table_name, pk) IN (
      SELECT schema_name, table_name, pk FROM cdc.tombstones
      WHERE written_at < now() - $1::bigint * interval '1 second'
      ORDER BY written_at
      LIMIT $2)
)sql";

}  // namespace

bool TombstonePruner::prune_when_due(pqxx::connection& conn) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_due_) return true;
    try {
        if (!checked_schema_) {
            pqxx::nontransaction tx(conn);
            if (!pq::exec1(tx, kHasWrittenAt)[0].as<bool>())
                throw UsageError(
                    "the destination's cdc.tombstones has no written_at column: it was set up "
                    "by an older db_setup; run db_setup again to upgrade it");
            checked_schema_ = true;
        }
        std::int64_t deleted = 0;
        bool backlog = true;
        for (int chunk = 0; chunk < kChunksPerCall && backlog && !shutdown_requested(); ++chunk) {
            pqxx::work tx(conn, "prune tombstones");
            const auto rows = pq::exec0(tx, kPruneChunk,
                                        static_cast<std::int64_t>(retention_.count()), kChunkRows)
                                  .affected_rows();
            tx.commit();
            deleted += static_cast<std::int64_t>(rows);
            backlog = rows == static_cast<std::size_t>(kChunkRows);
        }
        if (deleted > 0) log::info("pruned ", deleted, " tombstones older than the retention");
        next_due_ = backlog ? now : now + prune_interval(retention_);
        return true;
    } catch (const std::exception& e) {
        if (!is_transient(e)) throw;
        log::warn("pruning tombstones: ", one_line(e.what()), "; trying again later");
        next_due_ = now + prune_interval(retention_);
        return false;
    }
}

}  // namespace pgtrail
