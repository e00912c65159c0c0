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
                                      std::optional<std::string_view> before,
                                      std::optional<std::string_view> after, std::int64_t now_ms) {
    std::string value;
    value.reserve(96 + (before ? before->size() : 0) + (after ? after->size() : 0));
    value += R"({"before":)";
    append_row(value, before);
    value += R"(,"after":)";
    append_row(value, after);
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
    value += "}}";
    return value;
}

void EnvelopeEncoder::encode(const LogRow& row, const CapturedTable& table, std::int64_t now_ms,
                             std::vector<KafkaRecord>& out) {
    if (row.op == 'u' && row.before && row.after) {
        std::string old_key = encode_key(*row.before, table.pk_columns);
        std::string new_key = encode_key(*row.after, table.pk_columns);
        if (old_key != new_key) {
            out.push_back(
                {std::move(old_key), envelope(row, table, 'd', row.before, std::nullopt, now_ms)});
            out.push_back(
                {std::move(new_key), envelope(row, table, 'c', std::nullopt, row.after, now_ms)});
            return;
        }
        out.push_back(
            {std::move(new_key), envelope(row, table, 'u', row.before, row.after, now_ms)});
        return;
    }
    const std::optional<std::string_view> image = row.op == 'd' ? row.before : row.after;
    if (!image)
        throw JsonError("log row " + std::to_string(row.seq) + " of " + table.name.display() +
                        " has no row image for op '" + row.op + "'");
    out.push_back({encode_key(*image, table.pk_columns),
                   envelope(row, table, row.op, row.before, row.after, now_ms)});
}

}  // namespace pgtrail
