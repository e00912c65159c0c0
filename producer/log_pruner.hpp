#pragma once

#include <cstdint>
#include <limits>
#include <pqxx/pqxx>

namespace pgtrail {

// Deletes published rows from cdc.log. A row is published exactly when its transaction is
// visible in the stored position: a batch stores its snapshot only after Kafka confirmed
// every row visible in it and not in the position before (log_reader.hpp). Pruning runs
// apart from the batch, in short transactions of at most `chunk_rows` rows each, so the
// batch transaction stays short and autovacuum can reclaim pruned rows while a large
// backlog is still being deleted. Deleting log rows takes no lock a writer waits for
// (writers only insert).
//
// Each chunk starts where the previous one ended (a seq floor), so deleting a backlog walks
// the log's key once, not once per chunk past the rows already deleted (their index entries
// stay until vacuum, and a long transaction anywhere delays that).
class LogPruner {
public:
    explicit LogPruner(int chunk_rows = 5000) : chunk_rows_(chunk_rows) {}

    // Call after every batch, `first_seq` being the lowest seq it published (0: none).
    // Deletes every published row, chunk by chunk.
    void prune(pqxx::connection& conn, std::int64_t first_seq);

private:
    static constexpr std::int64_t kNothingLeft = std::numeric_limits<std::int64_t>::max();
    int chunk_rows_;
    // No published row has a seq at or below this; kNothingLeft when none is left at all. A
    // restart may find rows a previous run left behind, hence 0.
    std::int64_t floor_ = 0;
};

}  // namespace pgtrail
