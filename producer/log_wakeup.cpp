#include "producer/log_wakeup.hpp"

#include "common/shutdown.hpp"

namespace pgtrail {
namespace {
// Short slices so SIGTERM is noticed promptly while idle.
constexpr std::chrono::milliseconds kSlice{200};
}  // namespace

LogWakeup::LogWakeup(pqxx::connection& conn) : pqxx::notification_receiver(conn, "cdc_log") {}

void LogWakeup::operator()(const std::string&, int) {}

void LogWakeup::wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!shutdown_requested()) {
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return;
        const auto slice = std::min<std::chrono::microseconds>(left, kSlice);
        if (conn().await_notification(slice.count() / 1000000, slice.count() % 1000000) > 0) return;
    }
}

}  // namespace pgtrail
