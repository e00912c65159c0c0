#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// What one ALTER TABLE did to one column of a captured source table, as the source's event
// trigger classified it (sql/triggers/schema_change.sql).
struct ColumnChange {
    enum class Action {
        add,            // a new column; `missing` is what rows from before the ALTER read
        add_rewritten,  // a new column whose default is evaluated per row: the table was
                        // rewritten without firing row triggers, so the rows' values never
                        // travelled
        drop,
        rename,  // `column` is the old name, `to` the new one
        retype,  // `from` the old type, `type` the new one
    };
    Action action = Action::add;
    std::string column;
    std::string type;  // format_type() on the source
    bool not_null = false;
    std::optional<std::string> missing_json;  // as row_to_json writes the value
    std::optional<std::string> missing_text;  // the type's text form, for a DEFAULT literal
    std::string to;
    std::string from;
    std::string default_expression;
};

// A schema change of one table: the null-value record the producer sends to every partition
// ahead of the table's later changes (docs/design.md "Schema changes").
struct SchemaChange {
    TableName table;
    std::int64_t seq = 0;  // the ALTER's log sequence on the source
    std::vector<ColumnChange> columns;
};

// The schema change a record carries in its "pgtrail.schema" header; nullopt for every
// other record. A header pgtrail did not write throws RuntimeFailure naming the offset.
std::optional<SchemaChange> schema_change_of(RdKafka::Message& message);

}  // namespace pgtrail
