#include "common/pg_session.hpp"

#include <libpq-fe.h>

#include <pqxx/pqxx>

#include "common/cli_options.hpp"
#include "common/conninfo.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/retry_policy.hpp"
#include "common/session_settings.hpp"

namespace pgtrail {
namespace {

void check_syntax(const std::string& conninfo, std::string_view role) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (options != nullptr) {
        PQconninfoFree(options);
        return;
    }
    std::string reason = error != nullptr ? one_line(error) : "cannot parse";
    if (error != nullptr) PQfreemem(error);
    throw UsageError(std::string("invalid ") + std::string(role) + " connection string: " + reason);
}

}  // namespace

std::unique_ptr<pqxx::connection> connect_with_retry(const std::string& conninfo,
                                                     std::string_view role,
                                                     std::chrono::seconds retry_for) {
    check_syntax(conninfo, role);
    const std::string failing =
        log::cat("cannot connect to ", role, " (", masked_conninfo(conninfo), ")");
    RetryPolicy policy(retry_for, failing);
    for (;;) {
        try {
            auto conn = std::make_unique<pqxx::connection>(conninfo);
            pin_session_settings(*conn, log::program());
            policy.after_success(log::cat(role, " database reachable again"));
            return conn;
        } catch (const pqxx::broken_connection& e) {
            if (!is_transient(e)) throw UsageError(failing + ": " + one_line(e.what()));
            policy.after_failure(e);
        }
    }
}

}  // namespace pgtrail
