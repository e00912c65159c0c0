#include "setup/row_text.hpp"

#include <vector>

#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

bool ends_with(const std::string& text, const std::string& end) {
    return text.size() >= end.size() &&
           text.compare(text.size() - end.size(), end.size(), end) == 0;
}

}  // namespace

std::string row_text_sql(const TableInfo& table) {
    std::vector<std::string> extras;
    for (const auto& column : table.columns) {
        const std::string value = "t." + quote_ident(column.name);
        if (column.type == "json" || column.type == "jsonb")
            extras.push_back("(" + value + " IS NULL)::text");
        else if (ends_with(column.type, "json[]") || ends_with(column.type, "jsonb[]"))
            extras.push_back(value + "::text");  // array_out quotes a JSON null element
        else if (ends_with(column.type, "[]"))
            extras.push_back("array_dims(" + value + ")");
    }
    if (extras.empty()) return "row_to_json(r.*)::text";
    std::string list;
    for (const auto& extra : extras) list += (list.empty() ? "" : ", ") + extra;
    // row_to_json's text is a whole JSON object, so what follows it cannot blur with it.
    return "row_to_json(r.*)::text || ARRAY[" + list + "]::text";
}

}  // namespace pgtrail
