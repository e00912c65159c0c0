#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

// What a destination table keeps of its source's changes (README "Routing and filtering").
enum class SinkMode { mirror, soft_delete, history };

// One [[table]] entry of a rules file: which source table a consumer applies, where to, and
// which slice of it. Expressions are SQL the destination evaluates over the source row.
struct TableRule {
    TableName source;
    TableName dest;                                   // the source's name unless `dest` is given
    std::optional<std::string> where;                 // row filter
    std::optional<std::vector<std::string>> columns;  // source columns applied, in any order
    std::vector<std::pair<std::string, std::string>> set;  // dest column, expression
    SinkMode mode = SinkMode::mirror;
    // soft-delete: the timestamptz column a delete sets to the source's delete time.
    std::string deleted_column = "deleted_at";
    // "rules file F, table schema.name": how every error about this entry begins.
    std::string context;
};

// A consumer's rules: tables without an entry are not applied.
struct Rules {
    std::string path;
    std::vector<TableRule> tables;

    std::vector<const TableRule*> for_source(const TableName& source) const;
};

// Reads and checks a rules file as far as it can be checked without a database: TOML syntax,
// known keys, names, one rule per destination table. Throws UsageError naming the file, the
// table and the rule.
Rules read_rules_file(const std::string& path);
Rules parse_rules(std::string_view text, const std::string& path);

// schema.name as SQL reads it: each part an identifier, unquoted ones folded to lower case,
// quoted ones ("My Table") taken as they are. nullopt unless both parts are there.
std::optional<TableName> parse_qualified_name(std::string_view text);

}  // namespace pgtrail
