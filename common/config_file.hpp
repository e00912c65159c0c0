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
class ProgramConfigFile : public CLI::ConfigTOML {
public:
    explicit ProgramConfigFile(std::string program) : program_(std::move(program)) {}

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

private:
    std::string program_;
};

}  // namespace pgtrail
