#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "harness/kafka_messages.hpp"

namespace pgtrail::it {

// A change event written by hand, to deliver what the producer would never send on its own:
// duplicates, stale versions, redeliveries after a delete.
struct CraftedChange {
    std::string table;                  // in schema public
    char op;                            // 'c', 'u', 'd' or 'r'
    std::string key;                    // JSON object, e.g. {"id":1}
    std::optional<std::string> before;  // row JSON
    std::optional<std::string> after;
    int64_t seq;
    int64_t ts_us;
};

// The Debezium-style envelope the producer writes, keyed like the producer keys it, for
// partition 0: every crafted change of a key must share a partition to keep its order.
KafkaMessage crafted_message(const std::string& source_db, const CraftedChange& change);

}  // namespace pgtrail::it
