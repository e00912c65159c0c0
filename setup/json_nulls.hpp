#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// row_to_json writes a json or jsonb column holding JSON null exactly as it writes SQL NULL,
// so cdc.log records beside each image which of those columns hold JSON null (see
// cdc.capture_row). These are the pieces db_setup and db_verify need for that.

// The table's json and jsonb columns, in column order: the capture trigger's arguments.
std::vector<std::string> json_columns(const TableInfo& table);

// A text[] expression for the row aliased `alias`: the names of its json/jsonb columns that
// hold JSON null, NULL when none do. The names come from parameter $`names_parameter`, to be
// bound to text_array_literal(json_columns(table)) (an empty array for a table without json
// columns, for which the expression is simply NULL).
std::string json_nulls_sql(const TableInfo& table, std::string_view alias, int names_parameter);

}  // namespace pgtrail
