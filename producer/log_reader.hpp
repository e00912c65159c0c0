#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "producer/envelope_encoder.hpp"

namespace pgtrail {

// One snapshot batch of the log (the PgQ way, README "How it works"): every change whose
// transaction is visible in the snapshot taken now and was not visible in the stored position.
// Unlike `seq > last_seq`, a transaction that took an early seq but committed late is not skipped:
// it was invisible in the stored position, so it belongs to the first batch that sees it.
// The batch lives in one REPEATABLE READ transaction; commit_published() stores the new
// position in it. Every row visible in a stored position is therefore published, which is
// what LogPruner relies on to delete them afterwards in short transactions of their own.
class SnapshotBatch {
public:
    explicit SnapshotBatch(pqxx::connection& conn);

    const std::map<std::uint32_t, CapturedTable>& tables() const { return tables_; }
    const std::string& source_db() const { return source_db_; }

    // The next page of at most `limit` rows in seq order (keyset paging on seq, so memory
    // stays bounded however large the batch is). Empty when the batch is exhausted.
    pqxx::result next_page(int limit);

    // How many rows the whole batch holds: one count, for a drain's progress.
    std::int64_t count_rows();

    // Call only after Kafka confirmed every record of the batch.
    void commit_published();

    std::int64_t rows_read() const { return rows_read_; }
    // The lowest seq read, 0 while none was (seqs start at 1).
    std::int64_t first_seq() const { return first_seq_; }

private:
    void check_position_not_ahead();
    void load_tables();

    pqxx::transaction<pqxx::isolation_level::repeatable_read> tx_;
    std::string current_;
    std::optional<std::string> previous_;
    std::map<std::uint32_t, CapturedTable> tables_;
    std::string source_db_;
    std::int64_t last_seq_ = 0;
    std::int64_t rows_read_ = 0;
    std::int64_t first_seq_ = 0;
};

// Reads one page row into the view the encoder takes; valid while the page is alive.
LogRow log_row(const pqxx::row& row);

}  // namespace pgtrail
