#pragma once

#include <cstdint>
#include <pqxx/pqxx>

namespace pgtrail {

// Deletes published rows from cdc.log. A row is published exactly when its transaction is
// visible in the stored position: a batch stores its snapshot only after Kafka confirmed
// every row visible in it and not in the position before (log_reader.hpp). Pruning runs
// apart from the batch, in short transactions of at most `chunk_rows` rows each, so the
// batch transaction stays short and autovacuum can reclaim pruned rows while a large
// backlog is still being deleted. Deleting log rows takes no lock a writer waits for
// (writers only insert).
class LogPruner {
public:
    explicit LogPruner(int chunk_rows = 5000) : chunk_rows_(chunk_rows) {}

    // Call after every batch, `published` being the rows it published. Deletes every
    // published row, chunk by chunk, unless there is nothing to do: no batch published
    // anything since the log was last found free of published rows. Returns rows deleted.
    std::int64_t prune(pqxx::connection& conn, std::int64_t published);

private:
    int chunk_rows_;
    bool pending_ = true;  // a restart may find rows a previous run left behind
};

}  // namespace pgtrail
