#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/cli_options.hpp"
#include "common/metrics.hpp"

namespace pgtrail {

// Serves `registry` at GET /metrics from a background thread for as long as it lives.
// Throws UsageError when the address and port cannot be bound (taken, not local, no rights).
class MetricsServer {
public:
    MetricsServer(const MetricsRegistry& registry, const std::string& address, int port);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

private:
    class Http;
    std::unique_ptr<Http> http_;
    std::atomic<bool> listening_done_{false};
    std::thread thread_;
};

// The server `settings` ask for, or none when --metrics-port is 0.
std::unique_ptr<MetricsServer> serve_metrics(const MetricsRegistry& registry,
                                             const MonitoringSettings& settings);

}  // namespace pgtrail
