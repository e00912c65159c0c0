#pragma once

#include <chrono>
#include <cstdint>
#include <pqxx/pqxx>

namespace pgtrail {

// Deletes tombstones written more than `retention` ago, so cdc.tombstones stops growing by
// one row per deleted key. A tombstone keeps an older insert or update of its key from
// bringing the row back if Kafka delivers that change again after the delete was applied;
// Kafka can do so for as long as it retains the older message, so `retention` must exceed
// the topic's retention. Age counts from when the consumer wrote the tombstone, not from
// the delete's source time: every older message of the key was appended to Kafka before the
// delete, which the consumer read before writing the tombstone, so it expires from Kafka at
// most the topic's retention after the tombstone was written however long the change took
// to arrive. (A source time could be days old when a stopped producer catches up, and the
// tombstone would be pruned at once while the messages it guards are fresh in Kafka.)
class TombstonePruner {
public:
    explicit TombstonePruner(std::chrono::seconds retention) : retention_(retention) {}

    // Prunes when due (every tenth of the retention, from 1 s to 1 min; at once while a
    // backlog remains) in transactions of its own on `conn`, a few thousand rows each, never
    // inside an apply transaction, and at most a bounded number per call so applying is not
    // held up. Throws UsageError when the destination's bookkeeping predates tombstone
    // retention. Returns false when `conn` failed (the caller reconnects); pruning is then
    // tried again when next due.
    bool prune_when_due(pqxx::connection& conn);

private:
    std::chrono::seconds retention_;
    std::chrono::steady_clock::time_point next_due_{};
    bool checked_schema_ = false;
};

}  // namespace pgtrail
