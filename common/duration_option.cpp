#include "common/duration_option.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

namespace pgtrail {
namespace {

constexpr std::array<std::pair<char, std::int64_t>, 4> kUnits{
    {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};
constexpr std::int64_t kLongest = 100LL * 365 * 86400;

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
    std::int64_t unit = 1;
    if (!text.empty()) {
        for (const auto& [suffix, seconds] : kUnits) {
            if (text.back() != suffix) continue;
            unit = seconds;
            text.remove_suffix(1);
            break;
        }
    }
    std::int64_t count = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) return {};
    if (count <= 0 || count > kLongest / unit) return {};
    return std::chrono::seconds(count * unit);
}

std::string format_duration(std::chrono::seconds duration) {
    for (const auto& [suffix, seconds] : kUnits) {
        if (duration.count() % seconds == 0)
            return std::to_string(duration.count() / seconds) + suffix;
    }
    return std::to_string(duration.count()) + "s";
}

CLI::Option* add_duration_option(CLI::App& app, const std::string& name,
                                 std::chrono::seconds& target, const std::string& description) {
    const CLI::Validator valid(
        [](std::string& text) -> std::string {
            if (parse_duration(text)) return {};
            return "'" + text + "' is not a duration like 7d, 12h, 30m, 90s or 3600 (seconds)";
        },
        "DURATION");
    return app
        .add_option_function<std::string>(
            name, [&target](const std::string& text) { target = *parse_duration(text); },
            description)
        ->check(valid)
        ->default_str(format_duration(target));
}

}  // namespace pgtrail
