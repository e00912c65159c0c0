#pragma once

#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "common/cli_options.hpp"
#include "consumer/decoded_batch.hpp"
#include "consumer/sql_applier.hpp"

namespace pgtrail {

// One destination connection that applies its share of every batch. A share holds whole
// partitions (split_by_partition), and a lane commits their changes, dead letters and
// offsets in one transaction, so several lanes can apply in parallel without ever splitting
// a partition's state.
class ApplyLane {
public:
    ApplyLane(const std::string& dest, const RetrySettings& retry);

    // Applies `batch`, retrying a lost or unreachable destination with backoff for the
    // retry budget (offsets are only written with the changes they cover). Returns how many
    // dead letters it recorded, including changes PostgreSQL rejected.
    std::size_t commit_with_retry(const DecodedBatch& batch, const Messages& messages,
                                  const RoutingTable& tables, const OffsetStore& offsets,
                                  DeadLetterSink& dead_letters);

private:
    pqxx::connection& connection();
    std::size_t commit(const DecodedBatch& batch, const Messages& messages,
                       const RoutingTable& tables, const OffsetStore& offsets,
                       DeadLetterSink& dead_letters);

    const std::string& dest_;
    const RetrySettings& retry_;
    std::unique_ptr<pqxx::connection> conn_;
    SqlApplier applier_;
};

}  // namespace pgtrail
