#include "producer/envelope_encoder.hpp"

#include "common/json_members.hpp"
#include "common/row_key.hpp"

namespace pgtrail {
namespace {

void append_row(std::string& out, std::optional<std::string_view> row) {
    if (row)
        out += *row;
    else
        out += "null";
}

bool has_json_nulls(const RowImage& image) {
    return image.json && image.json_nulls != nullptr && !image.json_nulls->empty();
}

void append_json_nulls(std::string& out, std::string_view side, const RowImage& image,
                       bool& first_side) {
    if (!has_json_nulls(image)) return;
    out += first_side ? "\"" : ",\"";
    first_side = false;
    out += side;
    out += "\":[";
    bool first = true;
    for (const auto& column : *image.json_nulls) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, column);
    }
    out += ']';
}

}  // namespace

EnvelopeEncoder::EnvelopeEncoder(std::string source_db) : source_db_(std::move(source_db)) {}

const std::string& EnvelopeEncoder::source_prefix(const TableName& table) {
    auto found = source_prefixes_.find(table);
    if (found != source_prefixes_.end()) return found->second;
    std::string prefix = R"(,"source":{"db":)";
    append_json_string(prefix, source_db_);
    prefix += R"(,"schema":)";
    append_json_string(prefix, table.schema);
    prefix += R"(,"table":)";
    append_json_string(prefix, table.name);
    return source_prefixes_.emplace(table, std::move(prefix)).first->second;
}

std::string EnvelopeEncoder::envelope(const LogRow& row, const CapturedTable& table, char op,
                                      RowImage before, RowImage after, std::int64_t now_ms) {
    std::string value;
    value.reserve(96 + (before.json ? before.json->size() : 0) +
                  (after.json ? after.json->size() : 0));
    value += R"({"before":)";
    append_row(value, before.json);
    value += R"(,"after":)";
    append_row(value, after.json);
    value += R"(,"op":")";
    value += op;
    value += R"(","ts_ms":)";
    value += std::to_string(now_ms);
    value += source_prefix(table.name);
    value += R"(,"txId":)";
    value += row.txid;
    value += R"(,"seq":)";
    value += std::to_string(row.seq);
    value += R"(,"ts_us":)";
    value += std::to_string(row.ts_us);
    // Debezium's millisecond field too: Flink's debezium-json reads source.ts_ms as the
    // change's source.timestamp metadata.
    value += R"(,"ts_ms":)";
    value += std::to_string(row.ts_us / 1000);
    value += '}';
    if (has_json_nulls(before) || has_json_nulls(after)) {
        value += R"(,"jsonNulls":{)";
        bool first_side = true;
        append_json_nulls(value, "before", before, first_side);
        append_json_nulls(value, "after", after, first_side);
        value += '}';
    }
    value += '}';
    return value;
}

void EnvelopeEncoder::encode(const LogRow& row, const CapturedTable& table, std::int64_t now_ms,
                             std::vector<KafkaRecord>& out) {
    const RowImage before{row.before, &row.before_json_nulls};
    const RowImage after{row.after, &row.after_json_nulls};
    if (row.op == 'u' && row.before && row.after) {
        std::string old_key = encode_key(*row.before, table.pk_columns);
        std::string new_key = encode_key(*row.after, table.pk_columns);
        if (old_key != new_key) {
            out.push_back({std::move(old_key), envelope(row, table, 'd', before, {}, now_ms)});
            out.push_back({std::move(new_key), envelope(row, table, 'c', {}, after, now_ms)});
            return;
        }
        out.push_back({std::move(new_key), envelope(row, table, 'u', before, after, now_ms)});
        return;
    }
    const std::optional<std::string_view> image = row.op == 'd' ? row.before : row.after;
    if (!image)
        throw JsonError("log row " + std::to_string(row.seq) + " of " + table.name.display() +
                        " has no row image for op '" + row.op + "'");
    out.push_back({encode_key(*image, table.pk_columns),
                   envelope(row, table, row.op, before, after, now_ms)});
}

KafkaRecord EnvelopeEncoder::schema_change(const LogRow& row, const CapturedTable& table) {
    if (!row.after)
        throw JsonError("log row " + std::to_string(row.seq) + " of " + table.name.display() +
                        " is a schema change without its columns");
    // Its own key, never a row's: a key-based tool must not take it for a row's delete.
    std::string key = R"({"pgtrail.schema":)";
    append_json_string(key, table.name.display());
    key += '}';
    std::string value = R"({"schema":)";
    append_json_string(value, table.name.schema);
    value += R"(,"table":)";
    append_json_string(value, table.name.name);
    value += R"(,"seq":)";
    value += std::to_string(row.seq);
    value += R"(,"columns":)";
    value += *row.after;
    value += '}';
    return {std::move(key), std::move(value)};
}

}  // namespace pgtrail
