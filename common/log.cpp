#include "common/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace pgtrail::log {
namespace {

std::string g_program = "pgtrail";
std::mutex g_mutex;

const char* level_name(Level level) {
    switch (level) {
        case Level::debug:
            return "DEBUG";
        case Level::info:
            return "INFO";
        case Level::warn:
            return "WARN";
        case Level::error:
            return "ERROR";
    }
    return "?";
}

std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    return buf;
}

}  // namespace

void set_program(std::string_view name) { g_program = name; }

void write(Level level, std::string_view message) {
    const std::string line =
        utc_now() + " " + g_program + " " + level_name(level) + " " + std::string(message) + "\n";
    std::lock_guard lock(g_mutex);
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

}  // namespace pgtrail::log
