#pragma once

#include <string>

namespace pgtrail {

// A libpq conninfo string or URI with the password removed, for logs and error messages.
std::string masked_conninfo(const std::string& conninfo);

}  // namespace pgtrail
