#pragma once

#include <pqxx/pqxx>
#include <string_view>

namespace pgtrail {

// Pins the settings every pgtrail session relies on, whatever the role, the database or the
// connection string set as defaults: UTF-8 on the wire (any server encoding), the program's
// name in pg_stat_activity, a search_path that resolves unqualified names in pg_catalog
// only, no timeouts (a batch or a verify may run long; retries are pgtrail's own), and the
// output styles that make the text of dates, intervals, floats and bytea unambiguous.
// One round trip; call once on every new connection, before anything else runs on it.
void pin_session_settings(pqxx::connection& conn, std::string_view program);

}  // namespace pgtrail
