#pragma once

#include <string>
#include <string_view>

namespace pgtrail {

// Quotes an identifier the way PostgreSQL's quote_ident does, always adding the quotes.
// SQL is built without a live connection so the builders can be unit-tested; values never
// go through here, they are always bound as parameters.
std::string quote_ident(std::string_view name);

// "schema"."name"
std::string quote_qualified(std::string_view schema, std::string_view name);

}  // namespace pgtrail
