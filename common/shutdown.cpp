#include "common/shutdown.hpp"

#include <atomic>
#include <csignal>

namespace pgtrail {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int) { g_stop.store(true); }

}  // namespace

void install_shutdown_handlers() {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

bool shutdown_requested() { return g_stop.load(); }

void request_shutdown() { g_stop.store(true); }

}  // namespace pgtrail
