#include "common/cdc_schema.hpp"

#include "common/errors.hpp"
#include "common/pqxx_compat.hpp"

namespace pgtrail {
namespace {

constexpr const char* kCaptureInstalled =
    "SELECT to_regclass('cdc.log') IS NOT NULL AND to_regclass('cdc.producer_position') IS NOT "
    "NULL";

constexpr const char* kBookkeepingInstalled =
    "SELECT to_regclass('cdc.consumer_offsets') IS NOT NULL AND "
    "to_regclass('cdc.tombstones') IS NOT NULL AND to_regclass('cdc.dead_letters') IS NOT NULL";

bool holds(pqxx::connection& conn, const char* check) {
    pqxx::nontransaction tx(conn);
    return pq::exec1(tx, check)[0].as<bool>();
}

}  // namespace

void require_capture_installed(pqxx::connection& source) {
    if (!holds(source, kCaptureInstalled))
        throw UsageError("capture is not installed on the source (no cdc.log): run db_setup first");
}

void require_bookkeeping_installed(pqxx::connection& dest) {
    if (!holds(dest, kBookkeepingInstalled))
        throw UsageError(
            "the destination is not prepared (no cdc.consumer_offsets): run db_setup first");
}

}  // namespace pgtrail
