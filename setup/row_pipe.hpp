#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

namespace pgtrail {

// Streams the rows of `query` on the source into `table` (`columns`) on the destination,
// COPY to COPY, one text line at a time: memory holds one row, whatever the row count.
// Both sessions must be pinned alike (common/session_settings.hpp) so every value's text
// reads back as the same value. Returns the rows copied.
std::int64_t pipe_rows(pqxx::transaction_base& source, const std::string& query,
                       pqxx::transaction_base& dest, const std::string& table,
                       const std::string& columns);

}  // namespace pgtrail
