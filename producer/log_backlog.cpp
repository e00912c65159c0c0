#include "producer/log_backlog.hpp"

#include "common/pqxx_compat.hpp"

namespace pgtrail {
namespace {

// Published rows may still wait for pruning, so the count asks the stored position which
// rows it has not covered yet rather than counting the whole table.
constexpr const char* kReadBacklog = R"sql(
SELECT (SELECT count(*) FROM cdc.log
        WHERE p.snapshot IS NULL OR NOT pg_visible_in_snapshot(txid, p.snapshot)),
       extract(epoch FROM clock_timestamp() - p.updated_at)::float8
FROM cdc.producer_position p
)sql";

}  // namespace

LogBacklog read_log_backlog(pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    const pqxx::row row = pq::exec1(tx, kReadBacklog);
    return {row[0].as<std::int64_t>(), row[1].as<double>()};
}

}  // namespace pgtrail
