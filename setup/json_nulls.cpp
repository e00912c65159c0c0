#include "setup/json_nulls.hpp"

#include "common/sql_names.hpp"

namespace pgtrail {

std::vector<std::string> json_columns(const TableInfo& table) {
    std::vector<std::string> names;
    for (const auto& column : table.columns)
        if (column.type == "json" || column.type == "jsonb") names.push_back(column.name);
    return names;
}

std::string json_nulls_sql(const TableInfo& table, std::string_view alias, int names_parameter) {
    const std::string names = "$" + std::to_string(names_parameter) + "::text[]";
    const std::vector<std::string> columns = json_columns(table);
    // Referenced either way, so the statement takes the same parameters for every table.
    if (columns.empty()) return "nullif(" + names + ", " + names + ")";
    std::string probes;
    for (std::size_t i = 0; i < columns.size(); ++i)
        probes += ", CASE WHEN json_typeof(" + std::string(alias) + "." + quote_ident(columns[i]) +
                  "::json) = 'null' THEN (" + names + ")[" + std::to_string(i + 1) + "] END";
    return "nullif(array_remove(ARRAY[NULL" + probes + "]::text[], NULL), '{}')";
}

}  // namespace pgtrail
