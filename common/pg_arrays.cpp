#include "common/pg_arrays.hpp"

namespace pgtrail {

std::vector<std::string> parse_text_array(const pqxx::field& field) {
    std::vector<std::string> items;
    pqxx::array_parser parser = field.as_array();
    for (auto [kind, text] = parser.get_next(); kind != pqxx::array_parser::done;
         std::tie(kind, text) = parser.get_next())
        if (kind == pqxx::array_parser::string_value) items.push_back(text);
    return items;
}

std::string text_array_literal(const std::vector<std::string>& items) {
    std::string literal = "{";
    for (const auto& item : items) {
        if (literal.size() > 1) literal += ',';
        literal += '"';
        for (char c : item) {
            if (c == '"' || c == '\\') literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    return literal + "}";
}

}  // namespace pgtrail
