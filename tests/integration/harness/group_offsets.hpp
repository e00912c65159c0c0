#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace pgtrail::it {

// What `group` committed to Kafka for partitions 0 .. partitions-1 of `topic`, as Kafka's
// tools read it (OffsetFetch through the group coordinator); partitions without a committed
// offset are left out.
std::map<std::int32_t, std::int64_t> group_committed_offsets(const std::string& brokers,
                                                             const std::string& group,
                                                             const std::string& topic,
                                                             int partitions);

}  // namespace pgtrail::it
