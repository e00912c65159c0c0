#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"
#include "consumer/apply_statements.hpp"
#include "consumer/change.hpp"

namespace pgtrail {

// A change whose row cannot be staged as it is, e.g. a string holding \u0000, which no
// PostgreSQL text can hold. A data error like PostgreSQL's own (is_data_error): the change
// becomes a dead letter, the rest of the batch is applied.
class RejectedValue : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One stage row: the fields of create_stage_table_sql's columns, nullopt for NULL.
using StageFields = std::vector<std::optional<std::string>>;

// Fills `fields` with the stage row of `change` (its after image, or for a delete the key
// columns of its before image, the others NULL, unless `whole_deletes`: a history table
// records the whole before image): scalar values as the text json_populate_record
// would pass to the type's input function (strings unescaped, numbers and booleans as written),
// json/jsonb values as their JSON text (a JSON null the source held as JSON null stays 'null',
// Change:: json_null_columns), structured values gathered into one JSON object.
void stage_fields(const Change& change, const TableInfo& table, const StageLayout& layout,
                  bool whole_deletes, StageFields& fields);

}  // namespace pgtrail
