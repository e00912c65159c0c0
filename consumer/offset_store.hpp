#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/topic_partition.hpp"

namespace pgtrail {

// topic partition -> the first offset not yet applied
using PartitionOffsets = std::map<TopicPartition, std::int64_t>;

// A batch read under a claim that another group member has since taken over (this one was
// paused past max.poll.interval.ms or its session ended): its transaction is rolled back and
// the batch dropped, the new owner applies those messages from the stored offsets.
class PartitionsMoved : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Kafka offsets kept in the destination (cdc.consumer_offsets), written in the same
// transaction as the changes they cover: after a crash the consumer resumes exactly after
// the last applied batch.
//
// Kafka fences a member that lost its partitions only at its next poll; a member paused in
// the middle of applying a batch would commit it after the new owner read the offsets, and
// that owner would apply the batch again. So every assignment claims its partitions in the
// destination (cdc.consumer_claims, a counter per partition) before it reads their offsets,
// and store() commits only under the claim it still holds, locking it until the commit: a
// newer claim either waits for that commit and then reads its offsets, or makes it fail.
class OffsetStore {
public:
    explicit OffsetStore(std::string group);

    // What the group stored, for every topic.
    PartitionOffsets load(pqxx::transaction_base& tx) const;

    // Takes the partitions over from whichever member held them; run it in its own
    // (autocommitted) statement before load(), so the offsets read are the ones committed
    // under the previous claim.
    void claim(pqxx::transaction_base& tx, const std::vector<TopicPartition>& partitions);

    // Throws PartitionsMoved when a partition's claim is no longer this member's, or when a
    // stored offset is already at or past the one to store: offsets never move backwards.
    // A reset is an operator's DELETE of the partition's row (see README, Operations).
    void store(pqxx::transaction_base& tx, const PartitionOffsets& next_offsets) const;

private:
    std::string group_;
    mutable std::mutex claims_mutex_;  // claims are taken on rebalance, read by apply lanes
    std::map<TopicPartition, std::int64_t> claims_;
};

}  // namespace pgtrail
