#include "consumer/sql_applier.hpp"

#include <pqxx/pqxx>

#include "common/cli_options.hpp"
#include "common/pqxx_compat.hpp"
#include "consumer/apply_statements.hpp"

namespace pgtrail {
namespace {

// One COPY for the whole batch; pqxx escapes each field for COPY's text format.
void stage(pqxx::transaction_base& tx, const std::vector<Change>& changes,
           const std::map<TableName, int>& table_numbers) {
    pqxx::stream_to copy = pq::stream_into(tx, kStageTable);
    for (const auto& change : changes)
        copy << std::make_tuple(table_numbers.at(change.table), std::string(1, change.op),
                                change.ts_us, change.seq, change.key, change.row);
    copy.complete();
}

}  // namespace

void SqlApplier::attach(pqxx::connection& conn) {
    prepared_.clear();
    pqxx::nontransaction tx(conn);
    pq::exec0(tx, kCreateStageTable);
}

const std::string& SqlApplier::prepared_for(pqxx::connection_base& conn, const TableInfo& table,
                                            bool remove) {
    const ApplyStatements statements = build_apply_statements(table);
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
    stage(tx, changes, numbers);
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
                                change.table.display() + ": " + one_line(e.what())});
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
