#pragma once

#include <string>

namespace pgtrail {

// A libpq conninfo string or URI with the password removed, for logs and error messages.
std::string masked_conninfo(const std::string& conninfo);

// Overwrites passwords in a command-line argument in place (`password=...` in a conninfo
// or URI query, `user:password@` in a URI), so `ps` and /proc/PID/cmdline never show them.
// Call after the options were parsed: the program keeps its own copy.
void hide_password_in_place(char* arg);

}  // namespace pgtrail
