#include "common/table_rules.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/errors.hpp"

namespace pgtrail {
namespace {

constexpr std::string_view kKeys[] = {"source", "dest", "where",         "columns",
                                      "mode",   "set",  "deleted_column"};

// One identifier at `text[at]`, advancing `at` past it.
std::optional<std::string> identifier(std::string_view text, std::size_t& at) {
    std::string out;
    if (at < text.size() && text[at] == '"') {
        for (++at; at < text.size(); ++at) {
            if (text[at] != '"') {
                out += text[at];
            } else if (at + 1 < text.size() && text[at + 1] == '"') {
                out += '"';
                ++at;
            } else {
                ++at;
                return out.empty() ? std::nullopt : std::optional(out);
            }
        }
        return std::nullopt;  // no closing quote
    }
    for (; at < text.size() && text[at] != '.'; ++at) {
        const char c = text[at];
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                           (c >= '0' && c <= '9' && !out.empty()) || c == '$' ||
                           static_cast<unsigned char>(c) >= 0x80;
        if (!plain) return std::nullopt;
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out.empty() ? std::nullopt : std::optional(out);
}

std::string string_value(const toml::node& node, const std::string& context,
                         const std::string& key) {
    const auto* value = node.as_string();
    if (value == nullptr) throw UsageError(context + ": " + key + " must be a string");
    if (value->get().empty()) throw UsageError(context + ": " + key + " is empty");
    return value->get();
}

TableName table_name(const toml::node& node, const std::string& context, const std::string& key) {
    const std::string text = string_value(node, context, key);
    const auto name = parse_qualified_name(text);
    if (!name)
        throw UsageError(context + ": " + key + " \"" + text +
                         "\" is not a schema-qualified table name (schema.table)");
    return *name;
}

SinkMode sink_mode(const std::string& text, const std::string& context) {
    if (text == "mirror") return SinkMode::mirror;
    if (text == "soft-delete") return SinkMode::soft_delete;
    if (text == "history") return SinkMode::history;
    throw UsageError(context + ": unknown mode \"" + text + "\" (mirror, soft-delete or history)");
}

TableRule table_rule(const toml::table& entry, const std::string& path, std::size_t number) {
    const std::string file = "rules file " + path;
    const toml::node* source = entry.get("source");
    if (source == nullptr)
        throw UsageError(file + ", table entry " + std::to_string(number) + ": source is missing");
    TableRule rule;
    rule.source = table_name(*source, file + ", table entry " + std::to_string(number), "source");
    rule.context = file + ", table " + rule.source.display();
    rule.dest = rule.source;
    for (const auto& [key, value] : entry) {
        const std::string name(key.str());
        if (std::find(std::begin(kKeys), std::end(kKeys), name) == std::end(kKeys))
            throw UsageError(rule.context + ": unknown key \"" + name +
                             "\" (source, dest, where, columns, mode, set, deleted_column)");
        if (name == "dest") rule.dest = table_name(value, rule.context, "dest");
        if (name == "where") rule.where = string_value(value, rule.context, "where");
        if (name == "deleted_column")
            rule.deleted_column = string_value(value, rule.context, "deleted_column");
        if (name == "mode")
            rule.mode = sink_mode(string_value(value, rule.context, "mode"), rule.context);
        if (name == "columns") {
            const auto* list = value.as_array();
            if (list == nullptr || list->empty())
                throw UsageError(rule.context + ": columns must be a non-empty list of names");
            rule.columns.emplace();
            for (const auto& item : *list) {
                const std::string column = string_value(item, rule.context, "each of columns");
                if (std::find(rule.columns->begin(), rule.columns->end(), column) !=
                    rule.columns->end())
                    throw UsageError(rule.context + ": columns lists \"" + column + "\" twice");
                rule.columns->push_back(column);
            }
        }
        if (name == "set") {
            const auto* transforms = value.as_table();
            if (transforms == nullptr)
                throw UsageError(rule.context +
                                 ": set must be a table of column = \"SQL expression\"");
            for (const auto& [column, expression] : *transforms)
                rule.set.emplace_back(
                    std::string(column.str()),
                    string_value(expression, rule.context, "set." + std::string(column.str())));
        }
    }
    return rule;
}

}  // namespace

std::optional<TableName> parse_qualified_name(std::string_view text) {
    std::size_t at = 0;
    const auto schema = identifier(text, at);
    if (!schema || at >= text.size() || text[at] != '.') return std::nullopt;
    ++at;
    const auto name = identifier(text, at);
    if (!name || at != text.size()) return std::nullopt;
    return TableName{*schema, *name};
}

std::vector<const TableRule*> Rules::for_source(const TableName& source) const {
    std::vector<const TableRule*> out;
    for (const auto& rule : tables)
        if (rule.source == source) out.push_back(&rule);
    return out;
}

Rules parse_rules(std::string_view text, const std::string& path) {
    const std::string file = "rules file " + path;
    toml::table document;
    try {
        document = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        throw UsageError(file + ": line " + std::to_string(e.source().begin.line) +
                         ": not valid TOML: " + std::string(e.description()));
    }
    for (const auto& [key, value] : document)
        if (key.str() != "table")
            throw UsageError(file + ": unknown key \"" + std::string(key.str()) +
                             "\" (rules are [[table]] entries)");
    const auto* entries = document["table"].as_array();
    if (entries == nullptr || entries->empty())
        throw UsageError(file + ": no [[table]] entries; a consumer with no rules applies nothing");
    Rules rules{path, {}};
    std::set<TableName> destinations;
    for (std::size_t i = 0; i < entries->size(); ++i) {
        const auto* entry = (*entries)[i].as_table();
        if (entry == nullptr)
            throw UsageError(file + ": table entry " + std::to_string(i + 1) + " is not a table");
        TableRule rule = table_rule(*entry, path, i + 1);
        if (!destinations.insert(rule.dest).second)
            throw UsageError(rule.context + ": destination table " + rule.dest.display() +
                             " already has a rule; one rule per destination table");
        if (entry->get("deleted_column") != nullptr && rule.mode != SinkMode::soft_delete)
            throw UsageError(rule.context + ": deleted_column goes with mode \"soft-delete\"");
        if (rule.mode == SinkMode::history && rule.where)
            throw UsageError(rule.context +
                             ": where does not go with mode \"history\" yet; a history table "
                             "records every change of its source");
        rules.tables.push_back(std::move(rule));
    }
    // A history table takes every change of a batch, the other modes only each row's newest
    // (consumer/batch_reducer.hpp); one source table is applied one way.
    for (const auto& rule : rules.tables) {
        if (rule.mode != SinkMode::history) continue;
        if (rules.for_source(rule.source).size() > 1)
            throw UsageError(rule.context +
                             ": a table with a history rule can have no other rule in the same "
                             "file; give the other rule to another consumer");
    }
    return rules;
}

Rules read_rules_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw UsageError("cannot read rules file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return parse_rules(text.str(), path);
}

}  // namespace pgtrail
