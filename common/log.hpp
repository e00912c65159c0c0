#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace pgtrail::log {

enum class Level { debug, info, warn, error };

// Names the program in every line; call once from main.
void set_program(std::string_view name);
void write(Level level, std::string_view message);

// Builds the message with operator<< so call sites read like sentences.
template <typename... Parts>
std::string cat(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

template <typename... Parts>
void info(const Parts&... parts) {
    write(Level::info, cat(parts...));
}
template <typename... Parts>
void warn(const Parts&... parts) {
    write(Level::warn, cat(parts...));
}
template <typename... Parts>
void error(const Parts&... parts) {
    write(Level::error, cat(parts...));
}

}  // namespace pgtrail::log
