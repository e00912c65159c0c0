#include "consumer/offset_store.hpp"

#include <pqxx/pqxx>

#include "common/errors.hpp"
#include "common/pqxx_compat.hpp"

namespace pgtrail {
namespace {

constexpr const char* kLoad =
    "SELECT partition, next_offset FROM cdc.consumer_offsets WHERE group_id = $1 AND topic = $2";

constexpr const char* kClaim = R"sql(
INSERT INTO cdc.consumer_claims (group_id, topic, partition, claim, claimed_at)
SELECT $1, $2, p, 1, now() FROM unnest($3::integer[]) AS x(p)
ON CONFLICT (group_id, topic, partition)
DO UPDATE SET claim = cdc.consumer_claims.claim + 1, claimed_at = EXCLUDED.claimed_at
RETURNING partition, claim
)sql";

// FOR SHARE holds a newer claim (an UPDATE of the row) off until this transaction ends.
constexpr const char* kHeldClaims = R"sql(
SELECT c.partition FROM cdc.consumer_claims c
JOIN unnest($3::integer[], $4::bigint[]) AS x(p, claim) ON c.partition = x.p AND c.claim = x.claim
WHERE c.group_id = $1 AND c.topic = $2
FOR SHARE OF c
)sql";

constexpr const char* kStore = R"sql(
INSERT INTO cdc.consumer_offsets (group_id, topic, partition, next_offset, updated_at)
SELECT $1, $2, p, o, now() FROM unnest($3::integer[], $4::bigint[]) AS x(p, o)
ON CONFLICT (group_id, topic, partition)
DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
WHERE cdc.consumer_offsets.next_offset < EXCLUDED.next_offset
RETURNING partition
)sql";

std::string int_array(const std::vector<std::int64_t>& values) {
    std::string out = "{";
    for (const auto value : values) {
        if (out.size() > 1) out += ',';
        out += std::to_string(value);
    }
    return out + "}";
}

std::string partition_list(const std::vector<std::int64_t>& partitions) {
    std::string out;
    for (const auto partition : partitions)
        out += (out.empty() ? "" : ", ") + std::to_string(partition);
    return out;
}

// The partitions of `wanted` that `result` (one partition per row) does not list.
std::vector<std::int64_t> missing(const std::vector<std::int64_t>& wanted,
                                  const pqxx::result& result) {
    std::vector<std::int64_t> out;
    for (const auto partition : wanted) {
        bool found = false;
        for (const auto& row : result) found = found || row[0].as<std::int64_t>() == partition;
        if (!found) out.push_back(partition);
    }
    return out;
}

}  // namespace

OffsetStore::OffsetStore(std::string group, std::string topic)
    : group_(std::move(group)), topic_(std::move(topic)) {}

PartitionOffsets OffsetStore::load(pqxx::transaction_base& tx) const {
    PartitionOffsets offsets;
    for (const auto& row : pq::exec(tx, kLoad, group_, topic_))
        offsets[row[0].as<std::int32_t>()] = row[1].as<std::int64_t>();
    return offsets;
}

void OffsetStore::claim(pqxx::transaction_base& tx, const std::vector<std::int32_t>& partitions) {
    if (partitions.empty()) return;
    const pqxx::result claimed = [&] {
        try {
            return pq::exec(
                tx, kClaim, group_, topic_,
                int_array(std::vector<std::int64_t>(partitions.begin(), partitions.end())));
        } catch (const pqxx::undefined_table&) {
            throw UsageError(
                "the destination has no cdc.consumer_claims: it was set up by an older "
                "pgtrail; run db_setup again");
        }
    }();
    std::lock_guard lock(claims_mutex_);
    for (const auto& row : claimed) claims_[row[0].as<std::int32_t>()] = row[1].as<std::int64_t>();
}

void OffsetStore::store(pqxx::transaction_base& tx, const PartitionOffsets& next_offsets) const {
    std::vector<std::int64_t> partitions, offsets, claims;
    {
        std::lock_guard lock(claims_mutex_);
        for (const auto& [partition, offset] : next_offsets) {
            const auto held = claims_.find(partition);
            partitions.push_back(partition);
            offsets.push_back(offset);
            claims.push_back(held != claims_.end() ? held->second : 0);
        }
    }
    const auto lost = missing(partitions, pq::exec(tx, kHeldClaims, group_, topic_,
                                                   int_array(partitions), int_array(claims)));
    if (!lost.empty())
        throw PartitionsMoved("partitions " + partition_list(lost) + " of " + topic_ +
                              " were claimed by another member of group " + group_ +
                              " while this batch was applied; batch rolled back, the new owner "
                              "applies it");
    const auto refused = missing(partitions, pq::exec(tx, kStore, group_, topic_,
                                                      int_array(partitions), int_array(offsets)));
    if (!refused.empty())
        throw PartitionsMoved("the stored offsets of partitions " + partition_list(refused) +
                              " of " + topic_ +
                              " are already past this batch; offsets never "
                              "move backwards, batch rolled back");
}

}  // namespace pgtrail
