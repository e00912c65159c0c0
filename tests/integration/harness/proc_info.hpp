#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pgtrail::it {

// What `ps` shows of the test's own children, read from /proc: Program keeps its pid to
// itself, so children are found by parent pid and executable.

// Pids of this process's live children running binary (matched by /proc/PID/exe).
std::vector<pid_t> children_running(const std::string& binary);

// /proc/PID/cmdline with the NULs between arguments turned into spaces: the command line as
// ps prints it. Empty if the process is gone.
std::string command_line_of(pid_t pid);

}  // namespace pgtrail::it
