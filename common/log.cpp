#include "common/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "common/json_members.hpp"

namespace pgtrail::log {
namespace {

// Erases the terminal line the cursor is on.
constexpr const char* kEraseLine = "\r\033[K";

std::string g_program = "pgtrail";
Format g_format = Format::text;
std::string g_status;
std::mutex g_mutex;

// How each format spells a level: upper case for people, lower case for log collectors.
struct LevelName {
    const char* text;
    const char* json;
};

LevelName level_name(Level level) {
    switch (level) {
        case Level::debug:
            return {"DEBUG", "debug"};
        case Level::info:
            return {"INFO", "info"};
        case Level::warn:
            return {"WARN", "warn"};
        case Level::error:
            return {"ERROR", "error"};
    }
    return {"?", "?"};
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

// Writes one whole line, keeping a shown status line below it.
void emit(const std::string& line) {
    std::lock_guard lock(g_mutex);
    if (!g_status.empty()) std::fputs(kEraseLine, stderr);
    std::fputs(line.c_str(), stderr);
    if (!g_status.empty()) std::fputs(g_status.c_str(), stderr);
    std::fflush(stderr);
}

}  // namespace

void set_program(std::string_view name) { g_program = name; }
const std::string& program() { return g_program; }

void set_format(Format format) { g_format = format; }

std::string format_line(Format format, std::string_view ts, std::string_view program, Level level,
                        std::string_view message) {
    if (format == Format::text)
        return std::string(ts) + " " + std::string(program) + " " + level_name(level).text + " " +
               std::string(message);
    std::string out = "{\"ts\":";
    append_json_string(out, ts);
    out += ",\"program\":";
    append_json_string(out, program);
    out += ",\"level\":\"";
    out += level_name(level).json;
    out += "\",\"msg\":";
    append_json_string(out, message);
    out += '}';
    return out;
}

void write(Level level, std::string_view message) {
    emit(format_line(g_format, utc_now(), g_program, level, message) + "\n");
}

void write_final_error(std::string_view reason) {
    if (g_format == Format::json)
        write(Level::error, reason);
    else
        emit(g_program + ": " + std::string(reason) + "\n");
}

bool status_line_possible() { return g_format == Format::text && isatty(STDERR_FILENO) == 1; }

void show_status(std::string_view line) {
    std::lock_guard lock(g_mutex);
    g_status = line;
    std::fputs(kEraseLine, stderr);
    std::fputs(g_status.c_str(), stderr);
    std::fflush(stderr);
}

void clear_status() {
    std::lock_guard lock(g_mutex);
    if (g_status.empty()) return;
    g_status.clear();
    std::fputs("\n", stderr);
    std::fflush(stderr);
}

}  // namespace pgtrail::log
