#pragma once

#include <string>

#include "common/table_catalog.hpp"

namespace pgtrail {

// The text db_verify compares rows by, on both sides (hashed per key range, and row by row in
// a merge), for a table aliased t whose compared columns are selected as r. It is the row's
// row_to_json text plus what row_to_json leaves out, so that two different rows never read
// the same: whether each json/jsonb column's null is JSON null or SQL NULL, the bounds of
// arrays ('[0:1]={1,2}' and '{1,2}' print the same JSON array), and the elements of json
// arrays, whose JSON null and SQL NULL elements print alike too.
std::string row_text_sql(const TableInfo& table);

}  // namespace pgtrail
