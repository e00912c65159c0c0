#include "common/table_mapping.hpp"

#include <algorithm>

#include "common/cli_options.hpp"
#include "common/errors.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool has_column(const TableInfo& table, const std::string& name) {
    return std::any_of(table.columns.begin(), table.columns.end(),
                       [&](const Column& c) { return c.name == name; });
}

// The first line of PostgreSQL's error, without libpq's "ERROR:" prefix: the lines after it
// quote the generated statement, not the rule.
std::string reason(const pqxx::sql_error& error) {
    std::string text = error.what();
    text = one_line(text.substr(0, text.find('\n')));
    for (const char* prefix : {"ERROR:  ", "ERROR: "})
        if (text.rfind(prefix, 0) == 0) text.erase(0, std::string(prefix).size());
    return text;
}

// The parameter makes it one statement of the extended protocol, which refuses a rule that
// smuggles in a second one after a semicolon.
void check_one(pqxx::dbtransaction& tx, const std::string& context, const std::string& sql) {
    try {
        pqxx::subtransaction check(tx, "check rule");
        pq::exec(check, sql, 0);
        check.commit();
    } catch (const pqxx::sql_error& e) {
        throw UsageError(context + ": " + reason(e));
    }
}

}  // namespace

bool TableMapping::mirrors(const TableInfo& source_row) const {
    if (filter || mode != SinkMode::mirror || columns.size() != source_row.columns.size())
        return false;
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (!columns[i].copied || columns[i].name != source_row.columns[i].name) return false;
    return true;
}

TableMapping resolve_rule(const TableRule& rule, const TableInfo& source_row) {
    TableMapping mapping{rule.source, rule.dest, {}, rule.where, rule.mode, "", rule.context};
    if (rule.columns) {
        for (const auto& name : *rule.columns)
            if (!has_column(source_row, name))
                throw UsageError(rule.context + ": columns: unknown column \"" + name + "\"");
        for (const auto& key : source_row.pk_columns)
            if (!contains(*rule.columns, key))
                throw UsageError(rule.context + ": columns must include the primary key column \"" +
                                 key + "\"");
    }
    const auto transform = [&](const std::string& name) -> const std::string* {
        for (const auto& [column, expression] : rule.set)
            if (column == name) return &expression;
        return nullptr;
    };
    for (const auto& [column, expression] : rule.set)
        if (contains(source_row.pk_columns, column))
            throw UsageError(rule.context + ": set." + column +
                             ": a primary key column cannot be transformed");
    for (const auto& column : source_row.columns) {
        const std::string* expression = transform(column.name);
        if (expression == nullptr && rule.columns && !contains(*rule.columns, column.name))
            continue;
        if (expression != nullptr)
            mapping.columns.push_back({column.name, *expression, false});
        else
            mapping.columns.push_back({column.name, quote_ident(column.name), true});
    }
    for (const auto& [column, expression] : rule.set)
        if (!has_column(source_row, column)) mapping.columns.push_back({column, expression, false});
    if (rule.mode == SinkMode::history)
        for (const auto& column : mapping.columns)
            if (column.name == kHistoryOpColumn || column.name == kHistoryTxidColumn)
                throw UsageError(rule.context + ": column \"" + column.name +
                                 "\" is a history table's own; rename it with set");
    if (rule.mode == SinkMode::soft_delete) {
        mapping.deleted_column = rule.deleted_column;
        for (const auto& column : mapping.columns)
            if (column.name == rule.deleted_column)
                throw UsageError(rule.context + ": deleted_column \"" + rule.deleted_column +
                                 "\" is also a column the rule applies; name another one");
    }
    return mapping;
}

TableMapping mirror_mapping(const TableInfo& table) {
    TableMapping mapping{table.name,
                         table.name,
                         {},
                         std::nullopt,
                         SinkMode::mirror,
                         "",
                         "table " + table.name.display()};
    for (const auto& column : table.columns)
        mapping.columns.push_back({column.name, quote_ident(column.name), true});
    return mapping;
}

// Expressions go on lines of their own, so a -- comment in one cannot swallow the SQL after
// it.
std::string value_sql(const MappedColumn& column) {
    return column.copied ? column.expression : "(\n" + column.expression + "\n)";
}

std::string filter_sql(const TableMapping& mapping) {
    return mapping.filter ? "(\n" + *mapping.filter + "\n) IS TRUE" : "true";
}

std::string typed_null_row_sql(const TableInfo& source_row) {
    std::string list;
    for (const auto& column : source_row.columns)
        list += (list.empty() ? "" : ", ") +
                ("NULL::" + column.type + " AS " + quote_ident(column.name));
    return list;
}

void check_expressions(pqxx::dbtransaction& tx, const TableMapping& mapping,
                       const TableInfo& source_row) {
    const std::string from = " FROM (SELECT " + typed_null_row_sql(source_row) + ") src";
    // WHERE insists on a boolean, and LIMIT 0 ($1) evaluates nothing.
    if (mapping.filter)
        check_one(tx, mapping.context + ", where",
                  "SELECT 1" + from + " WHERE (\n" + *mapping.filter + "\n) LIMIT $1");
    for (const auto& column : mapping.columns)
        if (!column.copied)
            check_one(tx, mapping.context + ", set." + column.name,
                      "SELECT " + value_sql(column) + from + " LIMIT $1");
}

}  // namespace pgtrail
