#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

struct CaptureRequest {
    std::vector<std::string> tables;  // as the user typed them: schema.name
    bool demo = false;                // create and capture public.employees
    bool snapshot = false;            // enqueue the rows the requested tables already hold
};

// Installs capture on the source in one transaction: schema cdc, log, trigger functions,
// triggers and registry entries for the requested tables. Idempotent. Returns every
// captured table (requested now or before) as the source catalog describes it.
std::vector<TableInfo> install_capture(pqxx::connection& source, const CaptureRequest& request);

// Removes capture from the source in one transaction: pgtrail's triggers from every table
// and schema cdc with everything in it. Throws UsageError, changing nothing, while cdc.log
// holds changes the producer has not published, unless `force`. Nothing to do (exit 0)
// when capture is not installed. Returns how many tables were captured.
std::size_t uninstall_capture(pqxx::connection& source, bool force);

}  // namespace pgtrail
