#pragma once

#include <sys/types.h>

#include <cstdint>

namespace pgtrail::it {

// The peak resident set size of a running process in bytes (VmHWM of /proc/PID/status), read
// before the process ends; throws if the process is gone.
std::int64_t peak_rss_bytes(pid_t pid);

}  // namespace pgtrail::it
