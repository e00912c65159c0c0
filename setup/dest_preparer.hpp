#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "common/table_catalog.hpp"
#include "common/table_rules.hpp"
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

// The same for a consumer with rules, given the captured source tables: only the tables the
// rules name, each under its destination name with the rule's columns (a transform's column
// takes the type its expression yields), and each ruled source table's columns recorded as
// its source row type (common/source_row.hpp). Every rule is checked against the source's
// columns and parsed by the destination first; a bad one throws UsageError and nothing
// changes.
void prepare_ruled_destination(pqxx::connection& dest, const Rules& rules,
                               const std::vector<TableInfo>& sources,
                               const std::vector<EnumType>& enums,
                               const std::vector<CompositeType>& composites);

}  // namespace pgtrail
