#include "common/backoff.hpp"

#include <algorithm>
#include <thread>

#include "common/shutdown.hpp"

namespace pgtrail {
namespace {
constexpr std::chrono::milliseconds kFirstDelay{200};
constexpr std::chrono::milliseconds kMaxDelay{5000};
constexpr std::chrono::milliseconds kSleepSlice{50};
}  // namespace

Backoff::Backoff(std::chrono::seconds budget) : budget_(budget), delay_(kFirstDelay) { reset(); }

void Backoff::reset() {
    attempts_ = 0;
    delay_ = kFirstDelay;
    started_ = std::chrono::steady_clock::now();
}

bool Backoff::wait() {
    const auto now = std::chrono::steady_clock::now();
    if (attempts_ == 0) started_ = now;
    ++attempts_;
    const auto deadline = started_ + budget_;
    if (now >= deadline || shutdown_requested()) return false;
    const auto wake = std::min(now + delay_, deadline);
    while (std::chrono::steady_clock::now() < wake) {
        if (shutdown_requested()) return false;
        std::this_thread::sleep_for(kSleepSlice);
    }
    delay_ = std::min(delay_ * 2, kMaxDelay);
    return true;
}

}  // namespace pgtrail
