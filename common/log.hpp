#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace pgtrail::log {

enum class Level { debug, info, warn, error };

// text: "<ts> <program> <LEVEL> <msg>" for people; json: one object per line with ts,
// program, level and msg, for log collectors.
enum class Format { text, json };

// Names the program in every line; call once from main.
void set_program(std::string_view name);
// The name set_program gave, e.g. for the application_name of the program's sessions.
const std::string& program();
void set_format(Format format);
void write(Level level, std::string_view message);

// The one line a program prints when it ends with an error exit code. In text format it is
// "<program>: <reason>" without a timestamp, which scripts match on; in json it is an error
// object like every other line.
void write_final_error(std::string_view reason);

// One line of the current log format, without the trailing newline (for tests).
std::string format_line(Format format, std::string_view ts, std::string_view program, Level level,
                        std::string_view message);

// A self-updating last line on a terminal (carriage return, no newline), e.g. a progress
// bar; log lines written while it is shown appear above it. clear_status() ends it.
// Only worth it when stderr is a terminal and the format is text: status_line_possible().
bool status_line_possible();
void show_status(std::string_view line);
void clear_status();

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
