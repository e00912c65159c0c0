#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace pgtrail {

// The guard columns the destination adds to every replicated table: the source time and
// log sequence of the change a row holds, so older changes arriving later are ignored.
inline constexpr const char* kGuardTsColumn = "_cdc_ts";
inline constexpr const char* kGuardSeqColumn = "_cdc_seq";

struct TableName {
    std::string schema;
    std::string name;

    std::string quoted() const;   // "schema"."name", for SQL
    std::string display() const;  // schema.name, for people
    bool operator==(const TableName&) const = default;
    auto operator<=>(const TableName&) const = default;
};

struct Column {
    std::string name;
    std::string type;  // format_type(), e.g. character varying(100), numeric(38,10)
    bool not_null = false;
    bool operator==(const Column&) const = default;
};

struct TableInfo {
    TableName name;
    std::vector<Column> columns;  // in attnum order; on the destination without guard columns
    std::vector<std::string> pk_columns;
    bool operator==(const TableInfo&) const = default;
};

// Resolves what a user typed (schema.name, quoted or not, as PostgreSQL parses it).
std::optional<TableName> resolve_table(pqxx::transaction_base& tx, const std::string& text);

// Reads a table's columns and primary key from the catalog; nullopt if the table is absent.
// Guard columns are left out so source and destination compare column for column.
std::optional<TableInfo> load_table(pqxx::transaction_base& tx, const TableName& name);

}  // namespace pgtrail
