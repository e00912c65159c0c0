#include "consumer/sql_applier.hpp"

#include <pqxx/pqxx>

#include "common/cli_options.hpp"
#include "common/json_members.hpp"
#include "common/pqxx_compat.hpp"
#include "consumer/apply_statements.hpp"

namespace pgtrail {
namespace {

// {3,5}, or NULL for a row without JSON nulls.
std::optional<std::string> positions(const std::vector<int>& columns) {
    if (columns.empty()) return std::nullopt;
    std::string array = "{";
    for (int column : columns) array += (array.size() > 1 ? "," : "") + std::to_string(column);
    return array + "}";
}

// bytea input in hex, "\x00ff...", for a text staged as its bytes (StagedText::utf8_bytes).
std::string hex_bytea(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "\\x";
    out.reserve(2 + 2 * bytes.size());
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(kDigits[byte / 16]);
        out.push_back(kDigits[byte % 16]);
    }
    return out;
}

// One COPY for the whole batch; pqxx escapes each field for COPY's text format.
void stage(pqxx::transaction_base& tx, const std::vector<Change>& changes,
           const std::map<TableName, int>& table_numbers, StagedText staged) {
    const bool as_bytes = staged == StagedText::utf8_bytes;
    pqxx::stream_to copy = pq::stream_into(tx, kStageTable);
    for (const auto& change : changes)
        copy << std::make_tuple(
            table_numbers.at(change.table), std::string(1, change.op), change.ts_us, change.seq,
            as_bytes ? hex_bytea(change.key) : change.key,
            as_bytes ? hex_bytea(change.row) : change.row, positions(change.json_null_columns));
    copy.complete();
}

constexpr const char* kDatabaseEncoding = "SELECT getdatabaseencoding()";

// SQLSTATE untranslatable_character: a character the destination's encoding lacks.
constexpr const char* kUntranslatable = "22P05";

// Non-ASCII characters as JSON \uXXXX escapes, so that a reason naming a key or column the
// destination's encoding cannot represent can still be stored there.
std::string ascii_only(std::string_view utf8) {
    static const char* hex = "0123456789abcdef";
    const auto escape = [&](std::string& out, unsigned unit) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out += hex[(unit >> shift) & 15];
    };
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto lead = static_cast<unsigned char>(utf8[i]);
        if (lead < 0x80) {
            out += static_cast<char>(lead);
            ++i;
            continue;
        }
        const int extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
        unsigned code = lead & (0x3F >> extra);
        for (int k = 1; k <= extra && i + k < utf8.size(); ++k)
            code = (code << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
        i += extra + 1;
        if (code >= 0x10000) {
            escape(out, 0xD800 + ((code - 0x10000) >> 10));
            escape(out, 0xDC00 + ((code - 0x10000) & 0x3FF));
        } else {
            escape(out, code);
        }
    }
    return out;
}

// The column of a rejected change that holds a character the destination's encoding cannot
// represent: each value is converted on its own, in a subtransaction, until one fails the
// same way. Empty when none does alone.
std::string untranslatable_column(pqxx::dbtransaction& tx, const Change& change,
                                  const TableInfo& table) {
    const std::string probe = "SELECT json_populate_record(NULL::" + table.name.quoted() + ", ";
    for (const auto& member : split_object(change.row)) {
        std::string single = "{";
        append_json_string(single, member.name);
        single.append(":").append(member.raw_value).append("}");
        try {
            // A quoted literal, not a parameter: libpqxx 6 opens a subtransaction's savepoint
            // only on its first exec(), so a failing exec_params() would abort the batch's
            // whole transaction.
            pqxx::subtransaction one(tx, "probe one column");
            one.exec(probe + one.quote(single) + "::json)");
            one.commit();
        } catch (const pqxx::sql_error& e) {
            if (e.sqlstate() == kUntranslatable) return member.name;
            throw;
        }
    }
    return "";
}

std::string rejection_reason(pqxx::dbtransaction& tx, const Change& change, const TableInfo& table,
                             const std::exception& error) {
    const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
    if (sql == nullptr || sql->sqlstate() != kUntranslatable)
        return change.table.display() + ": " + one_line(error.what());
    const std::string column = untranslatable_column(tx, change, table);
    return "table " + change.table.display() + ", key " + ascii_only(change.key) +
           (column.empty() ? "" : ", column " + ascii_only(column)) +
           ": the destination's encoding cannot represent a character of the value (" +
           one_line(error.what()) + ")";
}

}  // namespace

void SqlApplier::attach(pqxx::connection& conn) {
    prepared_.clear();
    pqxx::nontransaction tx(conn);
    staged_ = pq::exec1(tx, kDatabaseEncoding)[0].as<std::string>() == "UTF8"
                  ? StagedText::utf8_text
                  : StagedText::utf8_bytes;
    pq::exec0(tx, create_stage_table_sql(staged_));
}

const std::string& SqlApplier::prepared_for(pqxx::connection_base& conn, const TableInfo& table,
                                            bool remove) {
    const ApplyStatements statements = build_apply_statements(table, staged_);
    const std::string& sql = remove ? statements.remove : statements.upsert;
    auto found = prepared_.find(sql);
    if (found != prepared_.end()) return found->second;
    const std::string name = "pgtrail_apply_" + std::to_string(prepared_.size());
    conn.prepare(name, sql);
    return prepared_.emplace(sql, name).first->second;
}

void SqlApplier::apply(pqxx::transaction_base& tx, const std::vector<Change>& changes,
                       const std::map<TableName, TableInfo>& tables) {
    if (changes.empty()) return;
    std::map<TableName, int> numbers;
    for (const auto& change : changes) numbers.try_emplace(change.table, numbers.size());
    stage(tx, changes, numbers, staged_);
    for (const auto& [name, number] : numbers) {
        const TableInfo& table = tables.at(name);
        pq::exec_prepared0(tx, prepared_for(tx.conn(), table, false), number, name.schema,
                           name.name);
        pq::exec_prepared0(tx, prepared_for(tx.conn(), table, true), number, name.schema,
                           name.name);
    }
}

std::vector<DeadLetter> SqlApplier::apply_isolating(pqxx::dbtransaction& tx,
                                                    const std::vector<Change>& changes,
                                                    const std::map<TableName, TableInfo>& tables) {
    std::vector<DeadLetter> rejected;
    for (const auto& change : changes) {
        try {
            pqxx::subtransaction one(tx, "one change");
            apply(one, {change}, tables);
            pq::exec0(one, std::string("TRUNCATE ") + kStageTable);
            one.commit();
        } catch (const std::exception& e) {
            if (!is_data_error(e)) throw;
            rejected.push_back({change.origin, std::nullopt, std::nullopt,
                                rejection_reason(tx, change, tables.at(change.table), e)});
        }
    }
    return rejected;
}

bool is_data_error(const std::exception& error) {
    const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
    if (sql == nullptr) return false;
    const std::string& state = sql->sqlstate();
    // 22 data exception, 23 integrity constraint, 21 cardinality (same row twice).
    return state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0 || state.rfind("21", 0) == 0;
}

}  // namespace pgtrail
