#include "harness/replica.hpp"

#include <vector>

#include "harness/eventually.hpp"
#include "harness/sql.hpp"

namespace pgtrail::it {

std::string wait_until_replicated(const TestEnv& env, const std::string& table,
                                  std::chrono::milliseconds timeout) {
    std::vector<std::string> source;
    std::vector<std::string> dest;
    const bool same = eventually(
        [&] {
            source = user_rows(env.source_url(), table);
            dest = user_rows(env.dest_url(), table);
            return source == dest;
        },
        timeout);
    if (same) return "";
    return table + " differs after " + std::to_string(timeout.count()) + " ms\n---- source:\n" +
           lines(source) + "---- destination:\n" + lines(dest);
}

}  // namespace pgtrail::it
