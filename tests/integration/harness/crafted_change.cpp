#include "harness/crafted_change.hpp"

namespace pgtrail::it {

KafkaMessage crafted_message(const std::string& source_db, const CraftedChange& change) {
    const std::string seq = std::to_string(change.seq);
    std::string value =
        "{\"before\":" + change.before.value_or("null") +
        ",\"after\":" + change.after.value_or("null") + ",\"op\":\"" + change.op +
        "\",\"ts_ms\":" + std::to_string(change.ts_us / 1000) + ",\"source\":{\"db\":\"" +
        source_db + "\",\"schema\":\"public\",\"table\":\"" + change.table + "\",\"txId\":" + seq +
        ",\"seq\":" + seq + ",\"ts_us\":" + std::to_string(change.ts_us) + "}}";
    return KafkaMessage{0, 0, change.key, std::move(value)};
}

}  // namespace pgtrail::it
