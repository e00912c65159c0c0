#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>

namespace pgtrail::it {

// A client writing to a database on its own thread while the test does something else: the
// steady workload of replication, crash and outage tests. Each round is one transaction.
// A failed round (the server restarted, a deadlock) is counted, the connection reopened, and
// the writer goes on with the next round: an application that retries on its own.
class BackgroundWriter {
public:
    // round(tx, n): the statements of round n (0, 1, 2, ...; a failed round's n is not reused,
    // so n can number new rows). Returning false ends the workload without committing.
    using Round = std::function<bool(pqxx::work& tx, std::int64_t n)>;

    // pause: between rounds, to keep the change rate at what the test needs.
    BackgroundWriter(std::string url, Round round,
                     std::chrono::milliseconds pause = std::chrono::milliseconds(0));
    ~BackgroundWriter();
    BackgroundWriter(const BackgroundWriter&) = delete;
    BackgroundWriter& operator=(const BackgroundWriter&) = delete;

    // Ends the workload after the current round and waits for the thread.
    void stop();
    // Whether the workload ended on its own (a round returned false).
    bool finished() const { return finished_; }

    std::int64_t committed() const { return committed_; }
    std::int64_t failed() const { return failed_; }
    std::string last_error() const;

private:
    void run();

    std::string url_;
    Round round_;
    std::chrono::milliseconds pause_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> finished_{false};
    std::atomic<std::int64_t> committed_{0};
    std::atomic<std::int64_t> failed_{0};
    mutable std::mutex error_mutex_;
    std::string last_error_;
    std::thread thread_;
};

}  // namespace pgtrail::it
