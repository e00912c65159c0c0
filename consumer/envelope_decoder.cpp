#include "consumer/envelope_decoder.hpp"

#include <algorithm>
#include <charconv>

#include "common/json_members.hpp"
#include "common/row_key.hpp"

namespace pgtrail {
namespace {

const JsonMember& required(const std::vector<JsonMember>& members, std::string_view name,
                           std::string_view where) {
    const JsonMember* member = find_member(members, name);
    if (member == nullptr)
        throw BadMessage(std::string(where) + " has no \"" + std::string(name) + "\"");
    return *member;
}

std::int64_t integer(const JsonMember& member) {
    std::int64_t value = 0;
    const std::string_view raw = member.raw_value;
    const auto [end, error] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
    if (error != std::errc{} || end != raw.data() + raw.size())
        throw BadMessage("source." + member.name +
                         " is not an integer: " + std::string(raw.substr(0, 40)));
    return value;
}

std::string text(const JsonMember& member) {
    try {
        return decode_json_string(member.raw_value);
    } catch (const JsonError&) {
        throw BadMessage("source." + member.name + " is not a string");
    }
}

std::optional<std::string_view> row_image(const std::vector<JsonMember>& members,
                                          std::string_view name) {
    const JsonMember* member = find_member(members, name);
    if (member == nullptr || member->raw_value == "null") return std::nullopt;
    if (member->raw_value.front() != '{')
        throw BadMessage("\"" + std::string(name) + "\" is neither an object nor null");
    return member->raw_value;
}

// "jsonNulls":{"before":[...],"after":[...]}, both optional.
void json_nulls(const std::vector<JsonMember>& members, Envelope& envelope) {
    const JsonMember* member = find_member(members, "jsonNulls");
    if (member == nullptr) return;
    try {
        const std::vector<JsonMember> sides = split_object(member->raw_value);
        if (const JsonMember* before = find_member(sides, "before"))
            envelope.before_json_nulls = decode_string_array(before->raw_value);
        if (const JsonMember* after = find_member(sides, "after"))
            envelope.after_json_nulls = decode_string_array(after->raw_value);
    } catch (const JsonError&) {
        throw BadMessage("\"jsonNulls\" is not an object of string arrays");
    }
}

// Appends the columns a row image written before their ADD COLUMN lacks, with the value the
// source's rows from before the ALTER read. `members` views `row`, so it is appended to last.
void fill_absent_columns(std::string& row, const std::vector<JsonMember>& members,
                         const AbsentValues& absent) {
    std::string filled;
    for (const auto& [column, value] : absent) {
        if (find_member(members, column) != nullptr) continue;
        filled += ',';
        append_json_string(filled, column);
        filled += ':';
        filled += value;
    }
    if (filled.empty()) return;
    row.insert(row.size() - 1, filled);  // before the closing brace
}

}  // namespace

Envelope decode_envelope(std::string_view value) {
    std::vector<JsonMember> members;
    try {
        members = split_object(value);
    } catch (const JsonError& e) {
        throw BadMessage(std::string("value is not a JSON object: ") + e.what());
    }
    Envelope envelope;
    const std::string op = [&] {
        try {
            return decode_json_string(required(members, "op", "envelope").raw_value);
        } catch (const JsonError&) {
            throw BadMessage("\"op\" is not a string");
        }
    }();
    if (op != "c" && op != "u" && op != "d" && op != "r")
        throw BadMessage("unknown op \"" + op + "\"");
    envelope.op = op[0];

    const std::vector<JsonMember> source = [&] {
        try {
            return split_object(required(members, "source", "envelope").raw_value);
        } catch (const JsonError&) {
            throw BadMessage("\"source\" is not an object");
        }
    }();
    envelope.table = {text(required(source, "schema", "source")),
                      text(required(source, "table", "source"))};
    envelope.ts_us = integer(required(source, "ts_us", "source"));
    envelope.seq = integer(required(source, "seq", "source"));
    if (const JsonMember* txid = find_member(source, "txId"); txid && txid->raw_value != "null")
        envelope.txid = integer(*txid);

    envelope.before = row_image(members, "before");
    envelope.after = row_image(members, "after");
    json_nulls(members, envelope);
    if (envelope.op == 'd' ? !envelope.before : !envelope.after)
        throw BadMessage(std::string("op \"") + envelope.op + "\" without its row image");
    return envelope;
}

Change make_change(const Envelope& envelope, std::optional<std::string_view> message_key,
                   const TableInfo& table, MessageOrigin origin, const AbsentValues& absent) {
    Change change;
    change.table = envelope.table;
    change.op = envelope.op;
    change.ts_us = envelope.ts_us;
    change.seq = envelope.seq;
    change.txid = envelope.txid;
    change.origin = origin;
    change.row = envelope.op == 'd' ? *envelope.before : *envelope.after;
    const std::vector<JsonMember> members = split_object(change.row);
    try {
        change.key = encode_key(members, table.pk_columns);
    } catch (const JsonError& e) {
        throw BadMessage("row does not fit " + table.name.display() +
                         "'s primary key: " + e.what());
    }
    for (const auto& member : members) {
        const bool known = std::any_of(table.columns.begin(), table.columns.end(),
                                       [&](const Column& c) { return c.name == member.name; });
        if (!known) throw SchemaDrift::missing_column(table.name, member.name);
    }
    fill_absent_columns(change.row, members, absent);
    for (const auto& name :
         envelope.op == 'd' ? envelope.before_json_nulls : envelope.after_json_nulls) {
        const auto column = std::find_if(table.columns.begin(), table.columns.end(),
                                         [&](const Column& c) { return c.name == name; });
        const JsonMember* member = find_member(members, name);
        if (column == table.columns.end() || (column->type != "json" && column->type != "jsonb") ||
            member == nullptr || member->raw_value != "null")
            throw BadMessage("\"jsonNulls\" lists column \"" + name + "\" of " +
                             table.name.display() +
                             ", which is not a json or jsonb column holding null in the row");
        change.json_null_columns.push_back(
            static_cast<int>(std::distance(table.columns.begin(), column)) + 1);
    }
    if (message_key) {
        std::string given;
        try {
            given = canonical_key(*message_key);
        } catch (const JsonError& e) {
            throw BadMessage(std::string("message key is not a JSON object: ") + e.what());
        }
        if (given != change.key)
            throw BadMessage("message key " + given + " does not match the row's primary key " +
                             change.key);
    }
    return change;
}

}  // namespace pgtrail
