#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/table_catalog.hpp"
#include "consumer/change.hpp"

namespace pgtrail {

// A message the consumer cannot apply; its text is the dead-letter reason.
class BadMessage : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The source's table no longer fits the destination's: a column the destination lacks
// (applying would drop its values silently), or a schema change pgtrail does not replay.
// Not the message's fault, so not a dead letter: the consumer holds the batch, offsets
// untouched, until the destination is brought up to date (the reason says how) or the retry
// budget is spent.
class SchemaDrift : public std::runtime_error {
public:
    // The reason, one line naming the table and the command that resolves it.
    SchemaDrift(TableName table, const std::string& reason)
        : std::runtime_error(reason), table(std::move(table)) {}
    static SchemaDrift missing_column(TableName table, const std::string& column) {
        const std::string reason = "table " + table.display() + ": the source has column \"" +
                                   column +
                                   "\" which the destination lacks; run db_setup to add it";
        return SchemaDrift(std::move(table), reason);
    }
    TableName table;
};

// Per destination column, the JSON value a row image without it stands for
// (consumer/schema_evolver.hpp).
using AbsentValues = std::map<std::string, std::string>;

// The fields of a Debezium-style envelope the consumer needs. Views point into the value.
struct Envelope {
    char op = 0;
    TableName table;
    std::int64_t ts_us = 0;
    std::int64_t seq = 0;
    std::optional<std::int64_t> txid;  // source.txId, for history tables
    std::optional<std::string_view> before;
    std::optional<std::string_view> after;
    // The "jsonNulls" member: json/jsonb columns of each image that hold JSON null.
    std::vector<std::string> before_json_nulls;
    std::vector<std::string> after_json_nulls;
};

// Parses and validates an envelope. Throws BadMessage with the reason.
Envelope decode_envelope(std::string_view value);

// Builds the change to apply: picks the row image for the op, derives the row's key from
// it with the destination's primary-key columns and checks it against the message key.
// Throws BadMessage for a message that can never apply (also a JSON null listed for a column
// that is not json/jsonb on the destination or not null in the row), SchemaDrift for a row
// with a column the destination table does not have. A destination column the row lacks but
// `absent` names (a column added with a default after the row was written) is filled in with
// that value.
Change make_change(const Envelope& envelope, std::optional<std::string_view> message_key,
                   const TableInfo& table, MessageOrigin origin, const AbsentValues& absent = {});

}  // namespace pgtrail
