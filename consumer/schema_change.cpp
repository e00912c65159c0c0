#include "consumer/schema_change.hpp"

#include <charconv>

#include "common/errors.hpp"
#include "common/json_members.hpp"
#include "common/log.hpp"

namespace pgtrail {
namespace {

// The producer's kSchemaChangeHeader (producer/envelope_encoder.hpp).
constexpr const char* kHeader = "pgtrail.schema";

std::string_view member(const std::vector<JsonMember>& members, std::string_view name) {
    const JsonMember* found = find_member(members, name);
    if (found == nullptr) throw JsonError("no \"" + std::string(name) + "\"");
    return found->raw_value;
}

std::string text(const std::vector<JsonMember>& members, std::string_view name) {
    return decode_json_string(member(members, name));
}

std::optional<std::string> optional_raw(const std::vector<JsonMember>& members,
                                        std::string_view name) {
    const JsonMember* found = find_member(members, name);
    if (found == nullptr || found->raw_value == "null") return std::nullopt;
    return std::string(found->raw_value);
}

ColumnChange::Action action_named(const std::string& name) {
    if (name == "add") return ColumnChange::Action::add;
    if (name == "add_rewritten") return ColumnChange::Action::add_rewritten;
    if (name == "drop") return ColumnChange::Action::drop;
    if (name == "rename") return ColumnChange::Action::rename;
    if (name == "retype") return ColumnChange::Action::retype;
    throw JsonError("unknown action \"" + name + "\"");
}

ColumnChange column_change(std::string_view raw) {
    const std::vector<JsonMember> members = split_object(raw);
    ColumnChange change;
    change.action = action_named(text(members, "action"));
    change.column = text(members, "column");
    if (const JsonMember* type = find_member(members, "type"))
        change.type = decode_json_string(type->raw_value);
    if (const JsonMember* not_null = find_member(members, "not_null"))
        change.not_null = not_null->raw_value == "true";
    change.missing_json = optional_raw(members, "missing");
    if (const auto missing_text = optional_raw(members, "missing_text"))
        change.missing_text = decode_json_string(*missing_text);
    if (const JsonMember* to = find_member(members, "to"))
        change.to = decode_json_string(to->raw_value);
    if (const JsonMember* from = find_member(members, "from"))
        change.from = decode_json_string(from->raw_value);
    if (const JsonMember* expression = find_member(members, "default"))
        change.default_expression = decode_json_string(expression->raw_value);
    return change;
}

SchemaChange parse(std::string_view value) {
    const std::vector<JsonMember> members = split_object(value);
    SchemaChange change;
    change.table = {text(members, "schema"), text(members, "table")};
    const std::string_view seq = member(members, "seq");
    if (std::from_chars(seq.data(), seq.data() + seq.size(), change.seq).ec != std::errc{})
        throw JsonError("\"seq\" is not an integer");
    for (const auto& column : split_object(member(members, "columns")))
        change.columns.push_back(column_change(column.raw_value));
    return change;
}

}  // namespace

std::optional<SchemaChange> schema_change_of(RdKafka::Message& message) {
    if (message.payload() != nullptr) return std::nullopt;
    RdKafka::Headers* headers = message.headers();
    if (headers == nullptr) return std::nullopt;
    const RdKafka::Headers::Header header = headers->get_last(kHeader);
    if (header.err() != RdKafka::ERR_NO_ERROR || header.value() == nullptr) return std::nullopt;
    const std::string_view value(static_cast<const char*>(header.value()), header.value_size());
    try {
        return parse(value);
    } catch (const JsonError& e) {
        throw RuntimeFailure(log::cat("partition ", message.partition(), " offset ",
                                      message.offset(), ": the ", kHeader,
                                      " header is not a schema change pgtrail wrote (", e.what(),
                                      "): ", value.substr(0, 200)));
    }
}

}  // namespace pgtrail
