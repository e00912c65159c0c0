#pragma once

#include <sys/types.h>

#include <filesystem>

namespace pgtrail::it {

// A fresh directory under /tmp that is removed with everything in it when the owner goes away.
class TempDir {
public:
    explicit TempDir(const char* prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // PostgreSQL refuses to run as root, so its directory must belong to the user it runs as.
    void give_to(uid_t uid, gid_t gid) const;

private:
    std::filesystem::path path_;
};

}  // namespace pgtrail::it
