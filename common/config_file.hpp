#pragma once

#include <CLI/CLI.hpp>
#include <istream>
#include <string>
#include <vector>

namespace pgtrail {

// Reads a --config file that all four programs can share: top-level keys go to every program
// that has the flag (others ignore them), and a section named after a program ([producer],
// [consumer], [db_setup], [db_verify]) goes to that program only and wins over the top
// level. Programs that run side by side need this for flags that must differ, such as the
// metrics port.
//
// Keys that `app` has no option for are dropped here rather than left to CLI11: 2.1 ignores
// them, but 2.4 reports their values as unexpected arguments (a connection string's password
// among them) even in its "ignore extras" modes.
class ProgramConfigFile : public CLI::ConfigTOML {
public:
    ProgramConfigFile(std::string program, const CLI::App& app)
        : program_(std::move(program)), app_(app) {}

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

private:
    bool has_option(const std::string& key) const;

    std::string program_;
    const CLI::App& app_;
};

}  // namespace pgtrail
