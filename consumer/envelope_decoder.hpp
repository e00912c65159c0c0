#pragma once

#include <cstdint>
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

// The source has a column the destination lacks: applying would drop its values silently.
// Not the message's fault, so not a dead letter: the consumer holds the batch until db_setup
// has brought the destination up to date.
class SchemaDrift : public std::runtime_error {
public:
    SchemaDrift(TableName table, const std::string& column)
        : std::runtime_error("table " + table.display() + ": the source has column \"" + column +
                             "\" which the destination lacks; run db_setup to add it"),
          table(std::move(table)) {}
    TableName table;
};

// The fields of a Debezium-style envelope the consumer needs. Views point into the value.
struct Envelope {
    char op = 0;
    TableName table;
    std::int64_t ts_us = 0;
    std::int64_t seq = 0;
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
// with a column the destination table does not have.
Change make_change(const Envelope& envelope, std::optional<std::string_view> message_key,
                   const TableInfo& table, MessageOrigin origin);

}  // namespace pgtrail
