#pragma once

#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <vector>

#include "common/table_catalog.hpp"
#include "common/table_mapping.hpp"
#include "common/table_rules.hpp"

namespace pgtrail {

// One destination table a source table's changes go to.
struct TableRoute {
    TableMapping mapping;
    TableInfo dest;  // as the destination's catalog describes it
    bool operator==(const TableRoute&) const = default;
};

// Where the changes of one source table go, and the shape of its rows.
struct SourceRoutes {
    // The source row's columns and key, named after the source table.
    TableInfo row;
    // The relation with those columns on the destination, for json_populate_record: the
    // table itself when it is mirrored, its source row type under rules.
    TableName row_type;
    std::vector<TableRoute> routes;  // none: no rule names the table, its changes are skipped

    bool applied() const { return !routes.empty(); }
    // A history table records every change, so the batch is not reduced to each row's newest.
    bool keeps_every_change() const;
    bool operator==(const SourceRoutes&) const = default;
};

using RoutingTable = std::map<TableName, SourceRoutes>;

// The routes of `source` read from the destination's catalog: without rules its same-named
// table (nullopt when the destination has none), with rules those of its rules. Throws
// UsageError when a rule does not fit what db_setup prepared (the reason says what to run),
// RuntimeFailure for a destination table without a primary key.
std::optional<SourceRoutes> load_routes(pqxx::transaction_base& tx, const TableName& source,
                                        const Rules* rules);

// Checks every rule against the destination before anything is applied: what load_routes
// checks, and that the destination parses each rule's expressions. Throws UsageError.
void check_rules(pqxx::connection& dest, const Rules& rules);

}  // namespace pgtrail
