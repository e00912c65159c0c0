#pragma once

#include <cstdint>
#include <string>

#include "harness/background_writer.hpp"

namespace pgtrail::it {

// The small table most pipeline tests replicate: a key, a counter and a note.
inline const std::string kItems = "public.items";
inline const std::string kCreateItems =
    "CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL, note text)";

// A steady trickle of changes: each round inserts a row and updates an earlier one.
BackgroundWriter::Round steady_changes();

// Rows in items at `url`.
std::int64_t rows_on(const std::string& url);

}  // namespace pgtrail::it
