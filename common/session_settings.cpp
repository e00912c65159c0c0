#include "common/session_settings.hpp"

#include <string>

namespace pgtrail {
namespace {

// One simple query, so one round trip. Timeouts go first: a role's statement_timeout would
// otherwise apply to this very query, and PostgreSQL drops the running timeout as soon as
// a statement of the query starts with statement_timeout 0. search_path comes next, so
// nothing after it could resolve through a search_path of the role's. lc_monetary is the
// capture trigger's, so money reads back as it was captured (and snapshots print it alike). JIT
// is off: pgtrail's statements are set-based merges of a few thousand rows whose cost estimates
// pass jit_above_cost, and compiling them took longer than running them (a 10,000-row apply
// statement: 330 ms with JIT, 176 ms without; docs/design.md "Apply speed"). Plain SET lasts
// for the session; the program's name follows as a quoted literal.
constexpr const char* kPinSession =
    "SET statement_timeout = 0; "
    "SET lock_timeout = 0; "
    "SET idle_in_transaction_session_timeout = 0; "
    "SET search_path = pg_catalog, pg_temp; "
    "SET client_encoding = 'UTF8'; "
    "SET DateStyle = 'ISO, MDY'; "
    "SET IntervalStyle = 'postgres'; "
    "SET TimeZone = 'UTC'; "
    "SET extra_float_digits = 3; "
    "SET bytea_output = 'hex'; "
    "SET lc_monetary = 'C'; "
    "SET jit = off; "
    "SET application_name = ";

// SQLSTATE query_canceled. A role's statement_timeout still applies to the first statement
// of the query that turns it off, so one shorter than that statement (a millisecond, on a
// busy server) can cancel it; nothing is set then, and trying again is safe.
constexpr const char* kCanceled = "57014";
constexpr int kAttempts = 5;

}  // namespace

void pin_session_settings(pqxx::connection& conn, std::string_view program) {
    for (int attempt = 1;; ++attempt) {
        try {
            pqxx::nontransaction tx(conn, "pin session settings");
            tx.exec(kPinSession + tx.quote(std::string(program)));
            return;
        } catch (const pqxx::sql_error& e) {
            if (e.sqlstate() != kCanceled || attempt == kAttempts) throw;
        }
    }
}

}  // namespace pgtrail
