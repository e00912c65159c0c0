#include "common/pg_session.hpp"

#include <libpq-fe.h>

#include <pqxx/pqxx>

#include "common/backoff.hpp"
#include "common/cli_options.hpp"
#include "common/conninfo.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"
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

// Retrying cannot fix a database or role that does not exist, a wrong password, or TLS
// demanded of a server that has none.
bool is_configuration_problem(std::string_view message) {
    return message.find("does not exist") != std::string_view::npos ||
           message.find("authentication failed") != std::string_view::npos ||
           message.find("no password supplied") != std::string_view::npos ||
           message.find("does not support SSL") != std::string_view::npos;
}

}  // namespace

std::unique_ptr<pqxx::connection> connect_with_retry(const std::string& conninfo,
                                                     std::string_view role,
                                                     std::chrono::seconds retry_for) {
    check_syntax(conninfo, role);
    Backoff backoff(retry_for);
    for (;;) {
        try {
            auto conn = std::make_unique<pqxx::connection>(conninfo);
            pin_session_settings(*conn, log::program());
            if (backoff.in_outage()) log::info(role, " database reachable again");
            return conn;
        } catch (const pqxx::broken_connection& e) {
            const std::string reason = one_line(e.what());
            if (is_configuration_problem(reason))
                throw UsageError(log::cat("cannot connect to ", role, " (",
                                          masked_conninfo(conninfo), "): ", reason));
            if (!backoff.in_outage())
                log::warn("cannot connect to ", role, " (", masked_conninfo(conninfo),
                          "): ", reason, "; retrying for up to ", retry_for.count(), " s");
            if (!backoff.wait())
                throw RuntimeFailure(log::cat("cannot connect to ", role, " (",
                                              masked_conninfo(conninfo), ") after retrying ",
                                              retry_for.count(), " s: ", reason));
        }
    }
}

bool is_transient(const std::exception& error) {
    if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) return true;
    if (dynamic_cast<const pqxx::transaction_rollback*>(&error) != nullptr) return true;
    if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) return true;
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
        const std::string& state = sql->sqlstate();
        // 57P0x: the server is shutting down or restarting; 08: connection exceptions.
        return state.rfind("57P0", 0) == 0 || state.rfind("08", 0) == 0;
    }
    return dynamic_cast<const TransientError*>(&error) != nullptr;
}

}  // namespace pgtrail
