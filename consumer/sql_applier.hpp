#pragma once

#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"
#include "consumer/apply_statements.hpp"
#include "consumer/change.hpp"
#include "consumer/dead_letters.hpp"

namespace pgtrail {

// Applies reduced changes to the destination inside the caller's transaction: one COPY of
// the whole batch into a staging table, then one guarded upsert and one guarded delete per
// table. PostgreSQL converts the row JSON to column types (json_populate_record), so
// numbers and text arrive exactly as the source wrote them.
class SqlApplier {
public:
    // Prepares the connection (staging table). Call again after a reconnect.
    void attach(pqxx::connection& conn);

    // `tables` must hold every table the changes name.
    void apply(pqxx::transaction_base& tx, const std::vector<Change>& changes,
               const std::map<TableName, TableInfo>& tables);

    // When the batch fails on bad data, applies the changes one by one, each in its own
    // subtransaction, and returns the ones PostgreSQL rejected as dead letters (with origin
    // and reason; the caller adds the original message).
    std::vector<DeadLetter> apply_isolating(pqxx::dbtransaction& tx,
                                            const std::vector<Change>& changes,
                                            const std::map<TableName, TableInfo>& tables);

private:
    const std::string& prepared_for(pqxx::connection_base& conn, const TableInfo& table,
                                    bool remove);

    std::map<std::string, std::string> prepared_;  // statement text -> prepared name
    StagedText staged_ = StagedText::utf8_text;    // by the destination's encoding
};

// True when PostgreSQL rejected the data itself (bad value, constraint, duplicate row in
// one statement), as opposed to the destination being unreachable or misconfigured.
bool is_data_error(const std::exception& error);

}  // namespace pgtrail
