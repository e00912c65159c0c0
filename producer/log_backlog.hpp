#pragma once

#include <pqxx/pqxx>

namespace pgtrail {

struct LogBacklog {
    std::int64_t rows = 0;            // committed log rows not yet published
    double position_age_seconds = 0;  // since the stored position last advanced
};

// One count over cdc.log: meant for once per progress interval, never per batch.
LogBacklog read_log_backlog(pqxx::connection& conn);

}  // namespace pgtrail
