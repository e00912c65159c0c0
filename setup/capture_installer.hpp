#pragma once

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"

namespace pgtrail {

struct CaptureRequest {
    std::vector<std::string> tables;  // as the user typed them: schema.name
    bool demo = false;                // create and capture public.employees
    // How long to keep trying when writers hold a table longer than the short lock wait.
    std::chrono::seconds retry_for{60};
};

// Installs capture on the source in one transaction: schema cdc, log, trigger functions,
// triggers and registry entries for the requested tables. Idempotent. No writer waits
// behind it for more than a few tens of milliseconds: the transaction waits that long for
// each table's lock, then gives way and tries again with backoff for up to `retry_for`.
// Once it committed, every change of those tables reaches cdc.log. Returns every
// captured table (requested now or before) as the source catalog describes it.
std::vector<TableInfo> install_capture(pqxx::connection& source, const CaptureRequest& request);

inline const TableName kDemoTableName{"public", "employees"};

// Creates the demo table public.employees unless it exists (what --demo captures).
void create_demo_table(pqxx::connection& source);

// Removes capture from the source in one transaction: pgtrail's triggers from every table
// and schema cdc with everything in it. Throws UsageError, changing nothing, while cdc.log
// holds changes the producer has not published, unless `force`. Nothing to do (exit 0)
// when capture is not installed. Returns how many tables were captured.
std::size_t uninstall_capture(pqxx::connection& source, bool force);

}  // namespace pgtrail
