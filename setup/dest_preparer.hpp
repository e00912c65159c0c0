#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// Prepares the destination in one transaction: pgtrail's bookkeeping (schema cdc) and each
// captured table with the source's columns, types, NOT NULL and primary key, plus the guard
// columns. An existing table gains the columns it lacks; nothing is dropped. Idempotent.
void prepare_destination(pqxx::connection& dest, const std::vector<TableInfo>& tables);

}  // namespace pgtrail
