#pragma once

#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"
#include "consumer/apply_statements.hpp"
#include "consumer/change.hpp"
#include "consumer/dead_letters.hpp"
#include "consumer/table_routes.hpp"

namespace pgtrail {

// Applies reduced changes to the destination inside the caller's transaction: per source
// table one COPY of the batch's rows into the table's typed stage, then per destination table
// it routes to one guarded upsert and one guarded delete (apply_statements.hpp says how
// values are staged and merged).
class SqlApplier {
public:
    // Forgets the stages and statements of an earlier connection. Call after a reconnect.
    void attach();

    // Creates the stage and prepares the statements of every table the changes name that
    // has none yet on `conn` (or whose columns or routes changed), outside any transaction,
    // so a batch that rolls back does not take them along. Call before opening the batch's
    // transaction.
    void prepare(pqxx::connection& conn, const std::vector<Change>& changes,
                 const RoutingTable& tables);

    // `tables` must hold every table the changes name, all prepared.
    void apply(pqxx::transaction_base& tx, const std::vector<Change>& changes,
               const RoutingTable& tables);

    // When the batch fails on bad data, applies the changes one by one, each in its own
    // subtransaction, and returns the ones PostgreSQL rejected as dead letters (with origin
    // and reason; the caller adds the original message).
    std::vector<DeadLetter> apply_isolating(pqxx::dbtransaction& tx,
                                            const std::vector<Change>& changes,
                                            const RoutingTable& tables);

private:
    struct PreparedRoute {
        TableName dest;
        std::string upsert;     // prepared statement names
        std::string remove;     // empty for a history table
        bool filtered = false;  // an upsert can turn into a delete
    };
    struct PreparedTable {
        SourceRoutes routes;  // what the stage and statements were built for
        StageLayout layout;
        std::string stage;
        std::vector<PreparedRoute> statements;
    };

    std::map<TableName, PreparedTable> prepared_;
    int stages_ = 0;  // stages created on this connection, for unique names
};

// True when PostgreSQL rejected the data itself (bad value, constraint, duplicate row in
// one statement), as opposed to the destination being unreachable or misconfigured.
bool is_data_error(const std::exception& error);

}  // namespace pgtrail
