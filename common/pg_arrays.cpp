#include "common/pg_arrays.hpp"

#include "common/pqxx_compat.hpp"

namespace pgtrail {

std::vector<std::string> parse_text_array(const pqxx::field& field) {
    std::vector<std::string> items;
    for (auto& item : pq::array_items(field))
        if (item) items.push_back(std::move(*item));
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
