#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

namespace pgtrail {

// Connects, retrying unreachable servers with backoff for up to `retry_for`.
// Throws UsageError for a malformed conninfo or a database/role that does not exist,
// RuntimeFailure when the budget is spent, ShutdownRequested on SIGINT/SIGTERM. `role` names the
// side ("source", "destination").
std::unique_ptr<pqxx::connection> connect_with_retry(const std::string& conninfo,
                                                     std::string_view role,
                                                     std::chrono::seconds retry_for);

}  // namespace pgtrail
