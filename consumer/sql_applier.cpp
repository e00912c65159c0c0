#include "consumer/sql_applier.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <set>

#include "common/cli_options.hpp"
#include "common/json_members.hpp"
#include "common/pqxx_compat.hpp"
#include "consumer/apply_statements.hpp"
#include "consumer/stage_rows.hpp"

namespace pgtrail {
namespace {

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
                                  const SourceRoutes& table) {
    const std::string probe = "SELECT json_populate_record(NULL::" + table.row_type.quoted() + ", ";
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

std::string rejection_reason(pqxx::dbtransaction& tx, const Change& change,
                             const SourceRoutes& table, const std::exception& error) {
    if (dynamic_cast<const RejectedValue*>(&error) != nullptr) return error.what();
    const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
    if (sql == nullptr || sql->sqlstate() != kUntranslatable)
        return "table " + change.table.display() + ", key " + ascii_only(change.key) + ": " +
               one_line(error.what());
    const std::string column = untranslatable_column(tx, change, table);
    return "table " + change.table.display() + ", key " + ascii_only(change.key) +
           (column.empty() ? "" : ", column " + ascii_only(column)) +
           ": the destination's encoding cannot represent a character of the value (" +
           one_line(error.what()) + ")";
}

// The layout of `table`'s rows: json and jsonb by their type name, structured columns as the
// destination's catalog describes its row type.
StageLayout stage_layout(pqxx::transaction_base& tx, const SourceRoutes& table) {
    std::set<std::string> structured;
    for (const auto& row :
         pq::exec(tx, kStructuredColumnsQuery, table.row_type.schema, table.row_type.name))
        structured.insert(row[0].as<std::string>());
    StageLayout layout;
    for (const auto& column : table.row.columns)
        layout.columns.push_back(structured.count(column.name) ? StagedAs::structured
                                 : column.type == "json" || column.type == "jsonb"
                                     ? StagedAs::json
                                     : StagedAs::scalar);
    return layout;
}

}  // namespace

void SqlApplier::attach() { prepared_.clear(); }

void SqlApplier::prepare(pqxx::connection& conn, const std::vector<Change>& changes,
                         const RoutingTable& tables) {
    std::vector<const TableName*> missing;
    for (const auto& change : changes) {
        const auto found = prepared_.find(change.table);
        const bool current =
            found != prepared_.end() && found->second.routes == tables.at(change.table);
        if (!current && std::find_if(missing.begin(), missing.end(), [&](const TableName* name) {
                            return *name == change.table;
                        }) == missing.end())
            missing.push_back(&change.table);
    }
    if (missing.empty()) return;
    std::vector<std::pair<std::string, std::string>> statements;  // name, SQL
    {
        pqxx::nontransaction tx(conn);
        for (const TableName* name : missing) {
            const SourceRoutes& table = tables.at(*name);
            const auto old = prepared_.find(*name);
            if (old != prepared_.end()) pq::exec0(tx, "DROP TABLE IF EXISTS " + old->second.stage);
            const std::string number = std::to_string(++stages_);
            PreparedTable prepared{
                table, stage_layout(tx, table), "pg_temp.cdc_stage_" + number, {}};
            pq::exec0(tx, create_stage_table_sql(table.row, prepared.layout, prepared.stage));
            const StageShape shape{prepared.routes.row, prepared.routes.row_type, prepared.layout,
                                   prepared.stage};
            for (std::size_t r = 0; r < table.routes.size(); ++r) {
                const TableRoute& route = table.routes[r];
                const std::string suffix = number + "_" + std::to_string(r + 1);
                PreparedRoute names{route.dest.name, "pgtrail_upsert_" + suffix,
                                    "pgtrail_remove_" + suffix, route.mapping.filter.has_value()};
                ApplyStatements sql = build_apply_statements(shape, route);
                statements.emplace_back(names.upsert, std::move(sql.upsert));
                if (sql.remove.empty())
                    names.remove.clear();
                else
                    statements.emplace_back(names.remove, std::move(sql.remove));
                prepared.statements.push_back(std::move(names));
            }
            prepared_.insert_or_assign(*name, std::move(prepared));
        }
    }
    for (const auto& [name, sql] : statements) conn.prepare(name, sql);
}

void SqlApplier::apply(pqxx::transaction_base& tx, const std::vector<Change>& changes,
                       const RoutingTable& tables) {
    std::map<TableName, std::vector<const Change*>> by_table;
    for (const auto& change : changes) by_table[change.table].push_back(&change);
    for (const auto& [name, table_changes] : by_table) {
        const SourceRoutes& table = tables.at(name);
        const PreparedTable& prepared = prepared_.at(name);
        // A value stage_fields rejects throws before its row is written; the COPY's earlier
        // rows go with the transaction the rejection aborts.
        StageFields fields;
        bool upserts = false, deletes = false;
        const bool whole_deletes = table.keeps_every_change();
        pq::CopyWriter copy(tx, prepared.stage);
        for (const Change* change : table_changes) {
            stage_fields(*change, table.row, prepared.layout, whole_deletes, fields);
            copy.write(fields);
            (change->is_delete() ? deletes : upserts) = true;
        }
        copy.complete();
        for (const PreparedRoute& route : prepared.statements) {
            if (route.remove.empty()) {  // a history table: every change is one row
                pq::exec_prepared0(tx, route.upsert);
                continue;
            }
            if (upserts) pq::exec_prepared0(tx, route.upsert, route.dest.schema, route.dest.name);
            if (deletes || (upserts && route.filtered))
                pq::exec_prepared0(tx, route.remove, route.dest.schema, route.dest.name);
        }
    }
}

std::vector<DeadLetter> SqlApplier::apply_isolating(pqxx::dbtransaction& tx,
                                                    const std::vector<Change>& changes,
                                                    const RoutingTable& tables) {
    std::vector<DeadLetter> rejected;
    for (const auto& change : changes) {
        try {
            pqxx::subtransaction one(tx, "one change");
            apply(one, {change}, tables);
            pq::exec0(one, "TRUNCATE " + prepared_.at(change.table).stage);
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
    if (dynamic_cast<const RejectedValue*>(&error) != nullptr) return true;
    const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
    if (sql == nullptr) return false;
    const std::string& state = sql->sqlstate();
    // 22 data exception, 23 integrity constraint, 21 cardinality (same row twice).
    return state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0 || state.rfind("21", 0) == 0;
}

}  // namespace pgtrail
