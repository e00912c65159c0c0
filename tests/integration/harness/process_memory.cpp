#include "harness/process_memory.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pgtrail::it {

std::int64_t peak_rss_bytes(pid_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/status";
    std::ifstream status(path);
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) != 0) continue;
        std::istringstream fields(line.substr(6));
        std::int64_t kib = 0;
        std::string unit;
        fields >> kib >> unit;
        if (unit != "kB") throw std::runtime_error("unexpected unit in " + path + ": " + line);
        return kib * 1024;
    }
    throw std::runtime_error("no VmHWM in " + path + " (has the process exited?)");
}

}  // namespace pgtrail::it
