#include "consumer/table_routes.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/source_row.hpp"

namespace pgtrail {
namespace {

TableInfo destination_table(pqxx::transaction_base& tx, const TableName& name,
                            const std::string& missing) {
    std::optional<TableInfo> dest = load_table(tx, name);
    if (!dest) throw UsageError(missing);
    if (dest->pk_columns.empty())
        throw RuntimeFailure("destination table " + name.display() + " has no primary key");
    return *dest;
}

TableRoute ruled_route(pqxx::transaction_base& tx, const TableRule& rule,
                       const std::string& prepare, std::optional<TableInfo>& row) {
    TableInfo dest = destination_table(tx, rule.dest,
                                       rule.context + ": destination table " + rule.dest.display() +
                                           " does not exist; " + prepare);
    // A history table's key is the source's and the change's sequence.
    std::vector<std::string> key = dest.pk_columns;
    if (rule.mode == SinkMode::history) {
        if (key.empty() || key.back() != kGuardSeqColumn)
            throw UsageError(rule.context + ": destination table " + rule.dest.display() +
                             " is not keyed as a history table; " + prepare);
        key.pop_back();
    }
    if (!row) {
        row = load_source_row(tx, rule.source, key);
        if (!row)
            throw UsageError(rule.context +
                             ": the destination has no record of the source table's columns; " +
                             prepare);
        row->name = rule.source;
    }
    if (row->pk_columns != key)
        throw UsageError(rule.context + ": destination table " + rule.dest.display() +
                         " is keyed differently from " + rule.source.display() + "; " + prepare);
    TableMapping mapping = resolve_rule(rule, *row);
    for (const auto& column : mapping.columns)
        if (std::none_of(dest.columns.begin(), dest.columns.end(),
                         [&](const Column& c) { return c.name == column.name; }))
            throw UsageError(rule.context + ": destination table " + rule.dest.display() +
                             " has no column \"" + column.name + "\"; " + prepare);
    const auto deleted =
        std::find_if(dest.columns.begin(), dest.columns.end(),
                     [&](const Column& c) { return c.name == mapping.deleted_column; });
    for (const char* own : {kHistoryOpColumn, kHistoryTxidColumn})
        if (mapping.mode == SinkMode::history &&
            std::none_of(dest.columns.begin(), dest.columns.end(),
                         [&](const Column& c) { return c.name == own; }))
            throw UsageError(rule.context + ": destination table " + rule.dest.display() +
                             " has no column \"" + own + "\"; " + prepare);
    if (mapping.mode == SinkMode::soft_delete &&
        (deleted == dest.columns.end() || deleted->type != "timestamp with time zone"))
        throw UsageError(rule.context + ": destination table " + rule.dest.display() +
                         " has no timestamptz column \"" + mapping.deleted_column + "\"; " +
                         prepare);
    return {std::move(mapping), std::move(dest)};
}

}  // namespace

bool SourceRoutes::keeps_every_change() const {
    return std::any_of(routes.begin(), routes.end(), [](const TableRoute& route) {
        return route.mapping.mode == SinkMode::history;
    });
}

std::optional<SourceRoutes> load_routes(pqxx::transaction_base& tx, const TableName& source,
                                        const Rules* rules) {
    if (rules == nullptr) {
        std::optional<TableInfo> dest = load_table(tx, source);
        if (!dest) return std::nullopt;
        if (dest->pk_columns.empty())
            throw RuntimeFailure("destination table " + source.display() + " has no primary key");
        TableMapping mapping = mirror_mapping(*dest);
        return SourceRoutes{*dest, source, {{std::move(mapping), *dest}}};
    }
    SourceRoutes routes{{source, {}, {}}, source_row_type(source), {}};
    const std::string prepare = "run db_setup --rules " + rules->path;
    std::optional<TableInfo> row;
    for (const TableRule* rule : rules->for_source(source))
        routes.routes.push_back(ruled_route(tx, *rule, prepare, row));
    if (row) routes.row = std::move(*row);
    return routes;
}

void check_rules(pqxx::connection& dest, const Rules& rules) {
    pqxx::work tx(dest, "check rules");
    std::vector<TableName> checked;
    for (const auto& rule : rules.tables) {
        if (std::find(checked.begin(), checked.end(), rule.source) != checked.end()) continue;
        checked.push_back(rule.source);
        const SourceRoutes routes = *load_routes(tx, rule.source, &rules);
        for (const auto& route : routes.routes) check_expressions(tx, route.mapping, routes.row);
    }
}

}  // namespace pgtrail
