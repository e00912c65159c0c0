#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "harness/test_env.hpp"

namespace pgtrail::it {

// Byte-exact comparison of a table on both sides. user_rows() goes through to_jsonb, which
// normalizes json values and numbers' spelling; this compares row_to_json text, exactly as
// PostgreSQL prints every value, restricted to the source table's columns (the destination's
// _cdc_* guard columns aside). qualified_table is SQL, quoted as needed, e.g.
// "My Schema"."we""ird Name".

// The source table's columns, quoted, in their order: "a", "b c".
std::string source_columns(const TestEnv& env, const std::string& qualified_table);

// row_to_json of every row, only those columns, sorted bytewise (COLLATE "C").
std::vector<std::string> exact_rows(const std::string& url, const std::string& qualified_table,
                                    const std::string& columns);

// Polls until both sides hold byte-identical rows; empty string then, otherwise both sides as
// last seen (long rows shortened) for the failure message.
std::string wait_until_exact(const TestEnv& env, const std::string& qualified_table,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The same comparison once, without waiting: for after a drain.
std::string exact_difference(const TestEnv& env, const std::string& qualified_table);

}  // namespace pgtrail::it
