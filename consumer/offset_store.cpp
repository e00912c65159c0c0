#include "consumer/offset_store.hpp"

#include <pqxx/pqxx>

#include "common/errors.hpp"
#include "common/pg_arrays.hpp"
#include "common/pqxx_compat.hpp"

namespace pgtrail {
namespace {

constexpr const char* kLoad =
    "SELECT topic, partition, next_offset FROM cdc.consumer_offsets WHERE group_id = $1";

constexpr const char* kClaim = R"sql(
INSERT INTO cdc.consumer_claims (group_id, topic, partition, claim, claimed_at)
SELECT $1, t, p, 1, now() FROM unnest($2::text[], $3::integer[]) AS x(t, p)
ON CONFLICT (group_id, topic, partition)
DO UPDATE SET claim = cdc.consumer_claims.claim + 1, claimed_at = EXCLUDED.claimed_at
RETURNING topic, partition, claim
)sql";

// FOR SHARE holds a newer claim (an UPDATE of the row) off until this transaction ends.
constexpr const char* kHeldClaims = R"sql(
SELECT c.topic, c.partition FROM cdc.consumer_claims c
JOIN unnest($2::text[], $3::integer[], $4::bigint[]) AS x(t, p, claim)
  ON c.topic = x.t AND c.partition = x.p AND c.claim = x.claim
WHERE c.group_id = $1
FOR SHARE OF c
)sql";

constexpr const char* kStore = R"sql(
INSERT INTO cdc.consumer_offsets (group_id, topic, partition, next_offset, updated_at)
SELECT $1, t, p, o, now() FROM unnest($2::text[], $3::integer[], $4::bigint[]) AS x(t, p, o)
ON CONFLICT (group_id, topic, partition)
DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
WHERE cdc.consumer_offsets.next_offset < EXCLUDED.next_offset
RETURNING topic, partition
)sql";

template <typename Number>
std::string int_array(const std::vector<Number>& values) {
    std::string out = "{";
    for (const auto value : values) {
        if (out.size() > 1) out += ',';
        out += std::to_string(value);
    }
    return out + "}";
}

// Column-wise, as the statements above take them.
struct PartitionColumns {
    std::vector<std::string> topics;
    std::vector<std::int32_t> partitions;

    void add(const TopicPartition& p) {
        topics.push_back(p.topic);
        partitions.push_back(p.partition);
    }
};

TopicPartition partition_of(const pqxx::row& row) {
    return {row[0].as<std::string>(), row[1].as<std::int32_t>()};
}

std::string partition_list(const std::vector<TopicPartition>& partitions) {
    std::string out;
    for (const auto& partition : partitions) out += (out.empty() ? "" : ", ") + partition.display();
    return out;
}

// The partitions of `wanted` that `result` (topic and partition per row) does not list.
std::vector<TopicPartition> missing(const std::vector<TopicPartition>& wanted,
                                    const pqxx::result& result) {
    std::vector<TopicPartition> out;
    for (const auto& partition : wanted) {
        bool found = false;
        for (const auto& row : result) found = found || partition_of(row) == partition;
        if (!found) out.push_back(partition);
    }
    return out;
}

}  // namespace

OffsetStore::OffsetStore(std::string group) : group_(std::move(group)) {}

PartitionOffsets OffsetStore::load(pqxx::transaction_base& tx) const {
    PartitionOffsets offsets;
    for (const auto& row : pq::exec(tx, kLoad, group_))
        offsets[partition_of(row)] = row[2].as<std::int64_t>();
    return offsets;
}

void OffsetStore::claim(pqxx::transaction_base& tx, const std::vector<TopicPartition>& partitions) {
    if (partitions.empty()) return;
    PartitionColumns columns;
    for (const auto& partition : partitions) columns.add(partition);
    const pqxx::result claimed = [&] {
        try {
            return pq::exec(tx, kClaim, group_, text_array_literal(columns.topics),
                            int_array(columns.partitions));
        } catch (const pqxx::undefined_table&) {
            throw UsageError(
                "the destination has no cdc.consumer_claims: it was set up by an older "
                "pgtrail; run db_setup again");
        }
    }();
    std::lock_guard lock(claims_mutex_);
    for (const auto& row : claimed) claims_[partition_of(row)] = row[2].as<std::int64_t>();
}

void OffsetStore::store(pqxx::transaction_base& tx, const PartitionOffsets& next_offsets) const {
    std::vector<TopicPartition> partitions;
    PartitionColumns columns;
    std::vector<std::int64_t> offsets, claims;
    {
        std::lock_guard lock(claims_mutex_);
        for (const auto& [partition, offset] : next_offsets) {
            const auto held = claims_.find(partition);
            partitions.push_back(partition);
            columns.add(partition);
            offsets.push_back(offset);
            claims.push_back(held != claims_.end() ? held->second : 0);
        }
    }
    const std::string topics = text_array_literal(columns.topics);
    const std::string ids = int_array(columns.partitions);
    const auto lost =
        missing(partitions, pq::exec(tx, kHeldClaims, group_, topics, ids, int_array(claims)));
    if (!lost.empty())
        throw PartitionsMoved("partitions " + partition_list(lost) +
                              " were claimed by another member of group " + group_ +
                              " while this batch was applied; batch rolled back, the new owner "
                              "applies it");
    const auto refused =
        missing(partitions, pq::exec(tx, kStore, group_, topics, ids, int_array(offsets)));
    if (!refused.empty())
        throw PartitionsMoved("the stored offsets of partitions " + partition_list(refused) +
                              " are already past this batch; offsets never move backwards, "
                              "batch rolled back");
}

}  // namespace pgtrail
