#pragma once

#include <chrono>
#include <ostream>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/cli_options.hpp"
#include "common/table_catalog.hpp"

namespace pgtrail {

struct StatusRequest {
    std::vector<TableInfo> tables;
    KafkaSettings kafka;  // brokers empty: committed offsets only, lag unknown
    std::string group;
    std::chrono::milliseconds kafka_timeout{10000};
};

// Prints where replication stands: the producer's position age and backlog on the source,
// each partition's consumer lag (high watermark minus the offset the destination stored),
// the newest applied change per table, and the dead letters.
void print_status(std::ostream& out, pqxx::connection& source, pqxx::connection& dest,
                  const StatusRequest& request);

}  // namespace pgtrail
