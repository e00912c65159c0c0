#include "harness/background_writer.hpp"

#include <memory>

namespace pgtrail::it {

using namespace std::chrono_literals;

BackgroundWriter::BackgroundWriter(std::string url, Round round, std::chrono::milliseconds pause)
    : url_(std::move(url)), round_(std::move(round)), pause_(pause) {
    thread_ = std::thread([this] { run(); });
}

BackgroundWriter::~BackgroundWriter() { stop(); }

void BackgroundWriter::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

std::string BackgroundWriter::last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
}

void BackgroundWriter::run() {
    std::unique_ptr<pqxx::connection> conn;
    for (std::int64_t n = 0; !stop_; ++n) {
        try {
            if (!conn) conn = std::make_unique<pqxx::connection>(url_);
            pqxx::work tx(*conn);
            if (!round_(tx, n)) {
                finished_ = true;
                return;
            }
            tx.commit();
            ++committed_;
        } catch (const std::exception& e) {
            ++failed_;
            {
                std::lock_guard lock(error_mutex_);
                last_error_ = e.what();
            }
            conn.reset();
            // Pacing reconnection attempts while a server is down, not synchronization.
            std::this_thread::sleep_for(50ms);
        }
        if (pause_ > 0ms) std::this_thread::sleep_for(pause_);
    }
}

}  // namespace pgtrail::it
