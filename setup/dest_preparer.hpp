#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "common/table_catalog.hpp"
#include "setup/composite_types.hpp"
#include "setup/enum_types.hpp"

namespace pgtrail {

// Prepares the destination in one transaction: pgtrail's bookkeeping (schema cdc) and each
// captured table with the source's columns, types, NOT NULL and primary key, plus the guard
// columns, and the enum and composite types they use. An existing table gains the columns it lacks;
// nothing is dropped. When the role pgtrail_consumer exists (sql/roles.sql), it is granted
// what the consumer needs on each table. Idempotent.
void prepare_destination(pqxx::connection& dest, const std::vector<TableInfo>& tables,
                         const std::vector<EnumType>& enums,
                         const std::vector<CompositeType>& composites);

}  // namespace pgtrail
