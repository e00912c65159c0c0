#include "producer/leader_lock.hpp"

#include <pqxx/pqxx>
#include <thread>

#include "common/log.hpp"
#include "common/pqxx_compat.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

// Arbitrary but fixed: "pgtrail" in ASCII.
constexpr const char* kTryLock = "SELECT pg_try_advisory_lock(31654002455136620)";
constexpr std::chrono::milliseconds kRetryEvery{500};

}  // namespace

bool acquire_leader_lock(pqxx::connection& conn) {
    bool said_waiting = false;
    while (!shutdown_requested()) {
        {
            pqxx::nontransaction tx(conn);
            if (pq::exec1(tx, kTryLock)[0].as<bool>()) {
                if (said_waiting) log::info("took over as the source's producer");
                return true;
            }
        }
        if (!said_waiting) {
            log::info("another producer is publishing this source; waiting to take over");
            said_waiting = true;
        }
        std::this_thread::sleep_for(kRetryEvery);
    }
    return false;
}

}  // namespace pgtrail
