#include "consumer/stage_rows.hpp"

#include <algorithm>

#include "common/json_members.hpp"

namespace pgtrail {
namespace {

// The member for column `index`: members usually come in the table's column order, so the
// one at the same position is tried first.
const JsonMember* member_for(const std::vector<JsonMember>& members, const TableInfo& table,
                             std::size_t index) {
    const std::string& name = table.columns[index].name;
    if (index < members.size() && members[index].name == name) return &members[index];
    return find_member(members, name);
}

std::string scalar_text(const Change& change, const std::string& column, std::string_view raw) {
    if (raw.empty() || raw.front() != '"') return std::string(raw);  // number, true, false
    std::string text;
    try {
        text = decode_json_string(raw);
    } catch (const JsonError& e) {
        throw RejectedValue("table " + change.table.display() + ", key " + change.key +
                            ", column " + column + ": " + e.what());
    }
    if (text.find('\0') != std::string::npos)
        throw RejectedValue("table " + change.table.display() + ", key " + change.key +
                            ", column " + column +
                            ": the value holds \\u0000, which PostgreSQL text cannot hold");
    return text;
}

}  // namespace

void stage_fields(const Change& change, const TableInfo& table, const StageLayout& layout,
                  bool whole_deletes, StageFields& fields) {
    std::vector<JsonMember> members;
    try {
        members = split_object(change.row);
    } catch (const JsonError& e) {
        throw RejectedValue("table " + change.table.display() + ", key " + change.key + ": " +
                            e.what());
    }
    fields.clear();
    fields.emplace_back(std::string(1, change.op));
    fields.emplace_back(std::to_string(change.ts_us));
    fields.emplace_back(std::to_string(change.seq));
    fields.emplace_back(change.txid ? std::optional(std::to_string(*change.txid)) : std::nullopt);
    fields.emplace_back(change.key);
    std::string structured;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        const Column& column = table.columns[i];
        // A delete needs only the key: the rest of its before image is not staged, so it
        // costs nothing and no stale non-key value can fail the delete.
        const bool unused = change.is_delete() && !whole_deletes &&
                            std::find(table.pk_columns.begin(), table.pk_columns.end(),
                                      column.name) == table.pk_columns.end();
        const JsonMember* member = unused ? nullptr : member_for(members, table, i);
        const StagedAs kind = layout.columns[i];
        if (kind == StagedAs::structured) {
            if (member == nullptr) continue;
            structured += structured.empty() ? "{" : ",";
            append_json_string(structured, member->name);
            structured.append(":").append(member->raw_value);
            continue;
        }
        if (member == nullptr) {
            fields.emplace_back();
            continue;
        }
        if (member->raw_value == "null") {
            const int position = static_cast<int>(i) + 1;
            const bool json_null =
                kind == StagedAs::json &&
                std::find(change.json_null_columns.begin(), change.json_null_columns.end(),
                          position) != change.json_null_columns.end();
            if (json_null)
                fields.emplace_back("null");
            else
                fields.emplace_back();
            continue;
        }
        if (kind == StagedAs::json)
            fields.emplace_back(std::string(member->raw_value));
        else
            fields.emplace_back(scalar_text(change, column.name, member->raw_value));
    }
    if (layout.any_structured()) {
        if (structured.empty())
            fields.emplace_back("{}");
        else
            fields.emplace_back(structured + "}");
    }
}

}  // namespace pgtrail
