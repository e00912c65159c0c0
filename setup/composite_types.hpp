#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// A stand-alone composite type (CREATE TYPE ... AS (...)) a captured table uses; the
// destination needs the same type before it can create the table.
struct CompositeType {
    TableName name;                  // the type's schema and name
    std::vector<Column> attributes;  // in order; format_type() spellings
};

// The composites (directly, as array elements, or inside another composite) the tables'
// columns use, read on the source, each after the composites it contains.
std::vector<CompositeType> composites_used_by(pqxx::transaction_base& source,
                                              const std::vector<TableInfo>& tables);

// Creates the composites the destination lacks; an existing one is left as it is.
void create_composites(pqxx::transaction_base& dest, const std::vector<CompositeType>& types);

}  // namespace pgtrail
