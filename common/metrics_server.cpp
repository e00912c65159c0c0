#include "common/metrics_server.hpp"

#include <httplib.h>

#include <chrono>

#include "common/errors.hpp"
#include "common/log.hpp"

namespace pgtrail {

class MetricsServer::Http : public httplib::Server {};

MetricsServer::MetricsServer(const MetricsRegistry& registry, const std::string& address, int port)
    : http_(std::make_unique<Http>()) {
    http_->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
        response.set_content(registry.exposition(), "text/plain; version=0.0.4; charset=utf-8");
    });
    if (!http_->bind_to_port(address, port))
        throw UsageError(log::cat("cannot serve metrics on --metrics-address ", address,
                                  " --metrics-port ", port,
                                  ": the port is in use or the address is not local"));
    thread_ = std::thread([this] {
        http_->listen_after_bind();
        listening_done_ = true;
    });
    // httplib's stop() does nothing until the accept loop runs, so a server stopped right
    // after start would never end; wait for the loop before handing control back.
    while (!http_->is_running() && !listening_done_)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    log::info("serving metrics at http://", address, ":", port, "/metrics");
}

MetricsServer::~MetricsServer() {
    http_->stop();
    thread_.join();
}

std::unique_ptr<MetricsServer> serve_metrics(const MetricsRegistry& registry,
                                             const MonitoringSettings& settings) {
    if (settings.metrics_port == 0) return nullptr;
    return std::make_unique<MetricsServer>(registry, settings.metrics_address,
                                           settings.metrics_port);
}

}  // namespace pgtrail
