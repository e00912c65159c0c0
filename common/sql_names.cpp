#include "common/sql_names.hpp"

namespace pgtrail {

std::string quote_ident(std::string_view name) {
    std::string quoted;
    quoted.reserve(name.size() + 2);
    quoted += '"';
    for (char c : name) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    quoted += '"';
    return quoted;
}

std::string quote_qualified(std::string_view schema, std::string_view name) {
    return quote_ident(schema) + "." + quote_ident(name);
}

}  // namespace pgtrail
