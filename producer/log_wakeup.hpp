#pragma once

#include <chrono>
#include <pqxx/pqxx>

namespace pgtrail {

// LISTENs for the capture trigger's notification so a new change is published at once;
// the timeout is the polling fallback for a missed notification.
class LogWakeup : public pqxx::notification_receiver {
public:
    explicit LogWakeup(pqxx::connection& conn);
    void operator()(const std::string& payload, int backend_pid) override;

    // Returns when a notification arrived, `timeout` passed, or shutdown was requested.
    void wait(std::chrono::milliseconds timeout);
};

}  // namespace pgtrail
