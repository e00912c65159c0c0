#pragma once

#include <cstdint>
#include <pqxx/pqxx>

#include "setup/load_claim.hpp"

namespace pgtrail {

// Rows per chunk: each chunk is one destination transaction that holds the consumer off the
// table while it runs (a fraction of a second at COPY speed) and the unit a killed load
// resumes from.
inline constexpr std::int64_t kLoadChunkRows = 50000;

// Runs a claimed load to its end, chunk after chunk from where the claim says earlier runs
// stopped, reporting rows, rate and ETA on a terminal and in log lines. Capture must be
// installed on the table before (so every change the load does not see reaches the
// destination through the stream). Returns the rows this run copied.
std::int64_t run_load(pqxx::connection& source, pqxx::connection& dest, const LoadClaim& claim);

}  // namespace pgtrail
