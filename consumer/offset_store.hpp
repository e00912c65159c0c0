#pragma once

#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <string>

namespace pgtrail {

// partition -> the first offset not yet applied
using PartitionOffsets = std::map<std::int32_t, std::int64_t>;

// Kafka offsets kept in the destination (cdc.consumer_offsets), written in the same
// transaction as the changes they cover: after a crash the consumer resumes exactly after
// the last applied batch.
class OffsetStore {
public:
    OffsetStore(std::string group, std::string topic);

    PartitionOffsets load(pqxx::transaction_base& tx) const;
    void store(pqxx::transaction_base& tx, const PartitionOffsets& next_offsets) const;

private:
    std::string group_;
    std::string topic_;
};

}  // namespace pgtrail
