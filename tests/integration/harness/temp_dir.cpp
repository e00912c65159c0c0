#include "harness/temp_dir.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace pgtrail::it {

TempDir::TempDir(const char* prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;  // a destructor cannot report; a leftover dir in /tmp is harmless
    std::filesystem::remove_all(path_, ignored);
}

void TempDir::give_to(uid_t uid, gid_t gid) const {
    if (chown(path_.c_str(), uid, gid) != 0) {
        throw std::system_error(errno, std::generic_category(), "chown " + path_.string());
    }
}

}  // namespace pgtrail::it
