#pragma once

#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pgtrail {

class JsonError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One member of a JSON object: its (unescaped) name and its value exactly as written.
struct JsonMember {
    std::string name;
    std::string_view raw_value;
};

// Validates `json` as a single JSON object and returns its top-level members with their
// values as raw text slices of `json`. Numbers are never converted, nested values are not
// re-serialized: what PostgreSQL wrote is what the caller gets back.
std::vector<JsonMember> split_object(std::string_view json);

// Finds a member by name; nullptr if absent.
const JsonMember* find_member(const std::vector<JsonMember>& members, std::string_view name);

// Writes `text` as a JSON string literal.
void append_json_string(std::string& out, std::string_view text);

// Decodes a raw JSON string literal (as found in JsonMember::raw_value).
std::string decode_json_string(std::string_view raw);

// Decodes a raw JSON array of strings, e.g. ["a","b"]; anything else throws JsonError.
std::vector<std::string> decode_string_array(std::string_view raw);

}  // namespace pgtrail
