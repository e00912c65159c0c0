#include "common/config_file.hpp"

namespace pgtrail {

// The names CLI11 tries, in its order, when it matches a config key to an option.
bool ProgramConfigFile::has_option(const std::string& key) const {
    return app_.get_option_no_throw("--" + key) != nullptr ||
           (key.size() == 1 && app_.get_option_no_throw("-" + key) != nullptr) ||
           app_.get_option_no_throw(key) != nullptr;
}

std::vector<CLI::ConfigItem> ProgramConfigFile::from_config(std::istream& input) const {
    std::vector<CLI::ConfigItem> own, shared;
    for (auto& item : CLI::ConfigTOML::from_config(input)) {
        if (item.parents.empty()) {
            if (has_option(item.name)) shared.push_back(std::move(item));
        } else if (item.parents.size() == 1 && item.parents.front() == program_ &&
                   item.name != "++" && item.name != "--" && has_option(item.name)) {
            // "++" and "--" mark where a section opens and closes; the program's own keys
            // become top-level ones.
            item.parents.clear();
            own.push_back(std::move(item));
        }
    }
    // CLI11 keeps the first value it reads for a flag, so the section's keys go first.
    own.insert(own.end(), std::make_move_iterator(shared.begin()),
               std::make_move_iterator(shared.end()));
    return own;
}

}  // namespace pgtrail
