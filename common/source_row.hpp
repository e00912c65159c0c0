#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// Under rules the destination table is a slice of its source (some columns, some rows,
// computed values), so the source's own columns are recorded beside it: one composite type
// per ruled source table, cdc_source."schema.table", created by db_setup. It is the row a
// rule's where and set expressions are evaluated over, on the destination.
inline constexpr const char* kSourceRowSchema = "cdc_source";

TableName source_row_type(const TableName& source);

// The recorded columns of `source`'s rows, named as the type, with `key` as their primary
// key; nullopt when db_setup has not recorded them.
std::optional<TableInfo> load_source_row(pqxx::transaction_base& tx, const TableName& source,
                                         const std::vector<std::string>& key);

}  // namespace pgtrail
