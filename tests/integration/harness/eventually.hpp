#pragma once

#include <chrono>
#include <functional>

namespace pgtrail::it {

// Polls condition every 50 ms until it holds (true) or timeout passes (false). Replication is
// asynchronous, so tests wait for the state they expect instead of sleeping; they wrap the
// call in REQUIRE_MESSAGE so a timeout reports what was last seen.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace pgtrail::it
