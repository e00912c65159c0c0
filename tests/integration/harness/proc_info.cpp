#include "harness/proc_info.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace pgtrail::it {
namespace {

// The PPid field of /proc/PID/status, -1 if unreadable.
pid_t parent_of(const std::filesystem::path& proc_dir) {
    std::ifstream status(proc_dir / "status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("PPid:", 0) == 0) return static_cast<pid_t>(std::stol(line.substr(5)));
    }
    return -1;
}

}  // namespace

std::vector<pid_t> children_running(const std::string& binary) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path wanted = fs::weakly_canonical(binary, ec);
    std::vector<pid_t> out;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        if (parent_of(entry.path()) != getpid()) continue;
        std::error_code link_error;
        const fs::path exe = fs::read_symlink(entry.path() / "exe", link_error);
        if (link_error || exe != wanted) continue;
        out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

std::string command_line_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    std::string text = content.str();
    for (char& c : text)
        if (c == '\0') c = ' ';
    return text;
}

}  // namespace pgtrail::it
