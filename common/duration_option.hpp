#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pgtrail {

// A positive whole number with an optional unit: "7d", "12h", "30m", "90s", or plain
// seconds ("3600"). nullopt for anything else, zero, or more than 100 years.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// The duration as the shortest of those forms that is exact: 604800 s reads "7d".
std::string format_duration(std::chrono::seconds duration);

// A flag taking such a duration into `target`, whose value is the default; a bad value is a
// usage error (exit 2) naming the flag.
CLI::Option* add_duration_option(CLI::App& app, const std::string& name,
                                 std::chrono::seconds& target, const std::string& description);

}  // namespace pgtrail
