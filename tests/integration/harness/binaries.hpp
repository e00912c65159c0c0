#pragma once

#include <filesystem>
#include <string>

namespace pgtrail::it {

// The programs under test, from the build tree (CMake passes their paths).
inline constexpr const char* kDbSetup = PGTRAIL_DB_SETUP;
inline constexpr const char* kDbVerify = PGTRAIL_DB_VERIFY;
inline constexpr const char* kProducer = PGTRAIL_PRODUCER;
inline constexpr const char* kConsumer = PGTRAIL_CONSUMER;

// A file of the repository (scripts, SQL) by its path from the repository's root.
inline std::filesystem::path repo_file(const std::string& relative) {
    return std::filesystem::path(PGTRAIL_REPO_DIR) / relative;
}

}  // namespace pgtrail::it
