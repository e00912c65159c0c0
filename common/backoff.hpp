#pragma once

#include <chrono>
#include <string_view>

namespace pgtrail {

// Capped exponential backoff with a total budget: retry loops ask it whether to go on.
class Backoff {
public:
    explicit Backoff(std::chrono::seconds budget);

    // Sleeps before the next attempt (waking early on shutdown). Returns false when the
    // budget is spent or shutdown was requested: the caller gives up.
    bool wait();
    // A success ends the outage: the next failure starts a fresh budget.
    void reset();
    bool in_outage() const { return attempts_ > 0; }

private:
    std::chrono::seconds budget_;
    std::chrono::steady_clock::time_point started_;
    std::chrono::milliseconds delay_;
    int attempts_ = 0;
};

}  // namespace pgtrail
