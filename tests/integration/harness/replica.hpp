#pragma once

#include <chrono>
#include <string>

#include "harness/test_env.hpp"

namespace pgtrail::it {

// Polls until the destination's copy of table holds exactly the source's rows (guard columns
// aside). Returns an empty string then; on timeout, both sides as last seen, for the failure
// message.
std::string wait_until_replicated(const TestEnv& env, const std::string& table,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace pgtrail::it
