#pragma once

#include <pqxx/pqxx>

namespace pgtrail {

// Throw UsageError unless db_setup has installed pgtrail's schema cdc on that side: the
// programs say "run db_setup" instead of failing on a missing table later.
void require_capture_installed(pqxx::connection& source);
void require_bookkeeping_installed(pqxx::connection& dest);

}  // namespace pgtrail
