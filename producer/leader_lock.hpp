#pragma once

#include <pqxx/pqxx>

namespace pgtrail {

// Only one producer may publish a source's log: two would race on the position. The lock
// is a session-level advisory lock, so it is released when its connection dies and a
// waiting producer takes over. Returns false if shutdown was requested while waiting.
bool acquire_leader_lock(pqxx::connection& conn);

}  // namespace pgtrail
