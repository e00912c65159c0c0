#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "common/errors.hpp"
#include "common/log.hpp"

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

// Calls `attempt` until it no longer throws TransientError, backing off in between. When
// `budget` is spent the last error ends the program as a RuntimeFailure that says what was
// being tried (`what`, e.g. "reach Kafka brokers host:9092") and for how long.
template <typename Attempt>
auto retry_transient(std::chrono::seconds budget, std::string_view what, Attempt&& attempt) {
    Backoff backoff(budget);
    for (;;) {
        try {
            return attempt();
        } catch (const TransientError& e) {
            if (!backoff.in_outage())
                log::warn(e.what(), "; retrying for up to ", budget.count(), " s");
            if (!backoff.wait())
                throw RuntimeFailure(log::cat("cannot ", what, " after retrying ", budget.count(),
                                              " s: ", e.what()));
        }
    }
}

}  // namespace pgtrail
