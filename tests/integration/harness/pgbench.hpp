#pragma once

#include <cstdint>
#include <string>

#include "harness/test_env.hpp"

namespace pgtrail::it {

// pgbench from the PostgreSQL installation the clusters run on, with a custom script: many
// concurrent sessions whose transactions commit in a different order than they wrote.
// options: pgbench's, e.g. {"-c", "8", "-j", "2", "-T", "20"}; -n (no vacuum of pgbench's own
// tables) and the script are added. Returns the running pgbench.
Program start_pgbench(TestEnv& env, const std::string& url, const std::string& script,
                      const Args& options);

// From pgbench's summary on stdout; -1 when the line is missing.
std::int64_t pgbench_transactions(const Program& pgbench);
std::int64_t pgbench_failures(const Program& pgbench);

}  // namespace pgtrail::it
