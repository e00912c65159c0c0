#include "consumer/offset_store.hpp"

#include <pqxx/pqxx>

#include "common/errors.hpp"
#include "common/pqxx_compat.hpp"

namespace pgtrail {
namespace {

constexpr const char* kLoad =
    "SELECT partition, next_offset FROM cdc.consumer_offsets WHERE group_id = $1 AND topic = $2";

constexpr const char* kStore = R"sql(
INSERT INTO cdc.consumer_offsets (group_id, topic, partition, next_offset, updated_at)
SELECT $1, $2, p, o, now() FROM unnest($3::integer[], $4::bigint[]) AS x(p, o)
ON CONFLICT (group_id, topic, partition)
DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
)sql";

}  // namespace

OffsetStore::OffsetStore(std::string group, std::string topic)
    : group_(std::move(group)), topic_(std::move(topic)) {}

PartitionOffsets OffsetStore::load(pqxx::transaction_base& tx) const {
    PartitionOffsets offsets;
    for (const auto& row : pq::exec(tx, kLoad, group_, topic_))
        offsets[row[0].as<std::int32_t>()] = row[1].as<std::int64_t>();
    return offsets;
}

void OffsetStore::store(pqxx::transaction_base& tx, const PartitionOffsets& next_offsets) const {
    std::string partitions = "{", offsets = "{";
    for (const auto& [partition, offset] : next_offsets) {
        if (partitions.size() > 1) {
            partitions += ',';
            offsets += ',';
        }
        partitions += std::to_string(partition);
        offsets += std::to_string(offset);
    }
    pq::exec0(tx, kStore, group_, topic_, partitions + "}", offsets + "}");
}

}  // namespace pgtrail
