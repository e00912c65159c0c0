#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// One row of cdc.log as the producer reads it; the views point into the query result.
struct LogRow {
    std::int64_t seq = 0;
    std::string_view txid;  // xid8 as decimal text
    std::int64_t ts_us = 0;
    std::uint32_t relid = 0;
    char op = 0;  // c u d r
    std::optional<std::string_view> before;
    std::optional<std::string_view> after;
    // The json/jsonb columns of each image that hold JSON null (row_to_json writes them
    // as null, like SQL NULL); empty for most rows.
    std::vector<std::string> before_json_nulls;
    std::vector<std::string> after_json_nulls;
};

// One image of a change: its row JSON (nullopt for none) and its JSON-null columns.
struct RowImage {
    std::optional<std::string_view> json;
    const std::vector<std::string>* json_nulls = nullptr;
};

struct CapturedTable {
    TableName name;
    std::vector<std::string> pk_columns;
};

// The header of the null-value records that carry a schema change.
inline constexpr const char* kSchemaChangeHeader = "pgtrail.schema";

struct KafkaRecord {
    std::string key;
    std::string value;
};

// Turns log rows into Kafka records: key = primary key as JSON, value = Debezium-style
// envelope. Row JSON from PostgreSQL is spliced in as is, never re-parsed into numbers.
// Columns holding JSON null are listed in a top-level "jsonNulls" member, present only when
// there are some: {"jsonNulls":{"before":["a"],"after":["a","b"]}}.
class EnvelopeEncoder {
public:
    explicit EnvelopeEncoder(std::string source_db);

    // Appends one record, or two when an UPDATE changed the primary key: a delete of the
    // old key followed by a create of the new one, so each key's partition sees its own
    // history. `now_ms` is the envelope's ts_ms (when pgtrail processed the change).
    void encode(const LogRow& row, const CapturedTable& table, std::int64_t now_ms,
                std::vector<KafkaRecord>& out);

    // A schema change (op 's', written by the source's event trigger) as the record the
    // producer sends to every partition with a null value: `value` here is the header's
    // text, {"schema":..,"table":..,"seq":..,"columns":<the log row's after>} (docs/design.md
    // "Schema changes").
    static KafkaRecord schema_change(const LogRow& row, const CapturedTable& table);

private:
    std::string envelope(const LogRow& row, const CapturedTable& table, char op, RowImage before,
                         RowImage after, std::int64_t now_ms);
    const std::string& source_prefix(const TableName& table);

    std::string source_db_;
    std::map<TableName, std::string> source_prefixes_;
};

}  // namespace pgtrail
