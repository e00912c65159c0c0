#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// A user-defined enum a captured table uses; the destination needs the same type before
// it can create the table.
struct EnumType {
    TableName name;  // the type's schema and name
    std::vector<std::string> labels;
};

// The enums (directly or as array elements) the tables' columns use, read on the source.
std::vector<EnumType> enums_used_by(pqxx::transaction_base& source,
                                    const std::vector<TableInfo>& tables);

// Creates missing enums on the destination and adds labels the source gained since.
void create_enums(pqxx::transaction_base& dest, const std::vector<EnumType>& enums);

}  // namespace pgtrail
