#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace pgtrail {

// A text[] field as strings (NULL elements are skipped: pgtrail's arrays never hold them).
std::vector<std::string> parse_text_array(const pqxx::field& field);

// A text[] literal for binding as a parameter, e.g. {"a","b \"c\""}.
std::string text_array_literal(const std::vector<std::string>& items);

}  // namespace pgtrail
