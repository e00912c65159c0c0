#include "common/config_file.hpp"

namespace pgtrail {

std::vector<CLI::ConfigItem> ProgramConfigFile::from_config(std::istream& input) const {
    std::vector<CLI::ConfigItem> own, shared;
    for (auto& item : CLI::ConfigTOML::from_config(input)) {
        if (item.parents.empty()) {
            shared.push_back(std::move(item));
        } else if (item.parents.size() == 1 && item.parents.front() == program_ &&
                   item.name != "++" && item.name != "--") {
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
