#include "common/row_key.hpp"

namespace pgtrail {
namespace {

void append_member(std::string& out, std::string_view name, std::string_view raw_value) {
    out += out.size() == 1 ? "" : ",";
    append_json_string(out, name);
    out += ':';
    out += raw_value;
}

}  // namespace

std::string encode_key(const std::vector<JsonMember>& row,
                       const std::vector<std::string>& pk_columns) {
    std::string key = "{";
    for (const auto& column : pk_columns) {
        const JsonMember* member = find_member(row, column);
        if (member == nullptr) throw JsonError("row has no primary-key column \"" + column + "\"");
        append_member(key, column, member->raw_value);
    }
    key += '}';
    return key;
}

std::string encode_key(std::string_view row_json, const std::vector<std::string>& pk_columns) {
    return encode_key(split_object(row_json), pk_columns);
}

std::string canonical_key(std::string_view key_json) {
    std::string key = "{";
    for (const auto& member : split_object(key_json))
        append_member(key, member.name, member.raw_value);
    key += '}';
    return key;
}

}  // namespace pgtrail
