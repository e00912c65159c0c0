#include "producer/change_probe.hpp"

#include <thread>

#include "common/pqxx_compat.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

constexpr const char* kPendingChanges = R"sql(
SELECT EXISTS (
    SELECT 1 FROM cdc.log l, cdc.producer_position p
    WHERE pg_visible_in_snapshot(l.txid, pg_current_snapshot())
      AND (p.snapshot IS NULL OR NOT pg_visible_in_snapshot(l.txid, p.snapshot)))
)sql";

}  // namespace

void ChangeProbe::wait(pqxx::connection& conn, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!shutdown_requested() && std::chrono::steady_clock::now() < deadline) {
        {
            pqxx::nontransaction tx(conn);
            if (pq::exec1(tx, kPendingChanges)[0].as<bool>()) return;
        }
        std::this_thread::sleep_for(interval_);
    }
}

}  // namespace pgtrail
