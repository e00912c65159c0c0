#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json_members.hpp"

namespace pgtrail {

// The Kafka key of a row: its primary-key columns as a compact JSON object, in key-column
// order, values copied as PostgreSQL wrote them, e.g. {"emp_id":42}. The producer uses it
// as the message key (so a row always lands on the same partition) and the consumer as the
// row's identity for reduction and tombstones, so both must build it the same way.
std::string encode_key(const std::vector<JsonMember>& row,
                       const std::vector<std::string>& pk_columns);

// Same, from a row's JSON text. Throws JsonError if a key column is missing.
std::string encode_key(std::string_view row_json, const std::vector<std::string>& pk_columns);

// Rewrites any JSON object key compactly (members in their given order), so a key
// written by another tool with different spacing compares equal to encode_key's.
std::string canonical_key(std::string_view key_json);

}  // namespace pgtrail
