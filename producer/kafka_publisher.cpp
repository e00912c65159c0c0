#include "producer/kafka_publisher.hpp"

#include <mutex>

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/kafka_topic.hpp"
#include "common/log.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

const KafkaProperties kProducerDefaults = {
    {"enable.idempotence", "true"},
    {"acks", "all"},
    // The Java client's partitioner, so every Kafka tool agrees where a key lives.
    {"partitioner", "murmur2_random"},
    {"compression.type", "lz4"},
    {"linger.ms", "5"},
    {"batch.num.messages", "10000"},
    // Bounds the producer's memory whatever the size of a source transaction.
    {"queue.buffering.max.kbytes", "65536"},
    {"allow.auto.create.topics", "false"},
    // A row with a 1 MB text column is a 1.4 MB envelope, twice that for an update. Real
    // Kafka also checks the topic's max.message.bytes against the compressed batch.
    {"message.max.bytes", "16777216"},
};

std::string too_large(std::string_view key, std::size_t bytes) {
    return log::cat("the change for key ", key, " is a ", bytes,
                    "-byte message, more than Kafka accepts; nothing was published. Raise the "
                    "producer's -X message.max.bytes and the topic's max.message.bytes");
}

// After a shutdown request, how long to keep waiting for confirmations of the batch.
constexpr std::chrono::seconds kShutdownGrace{10};

}  // namespace

class KafkaPublisher::DeliveryTracker : public RdKafka::DeliveryReportCb {
public:
    void dr_cb(RdKafka::Message& message) override {
        std::lock_guard lock(mutex_);
        if (message.err() == RdKafka::ERR_NO_ERROR) {
            ++confirmed_;
            return;
        }
        if (failed_++ == 0) first_error_ = message.errstr();
        if (message.err() == RdKafka::ERR_MSG_SIZE_TOO_LARGE && oversized_.empty())
            oversized_ = too_large(message.key() != nullptr ? *message.key() : "", message.len());
    }
    // Set when the broker refused a message as too large: retrying cannot help.
    std::string take_oversized() {
        std::lock_guard lock(mutex_);
        return std::exchange(oversized_, std::string());
    }
    // Returns how many failed since the last call and the first reason, and starts over.
    std::pair<std::int64_t, std::string> take_failures() {
        std::lock_guard lock(mutex_);
        auto result = std::make_pair(failed_, first_error_);
        failed_ = 0;
        first_error_.clear();
        return result;
    }
    std::int64_t confirmed() const {
        std::lock_guard lock(mutex_);
        return confirmed_;
    }

private:
    mutable std::mutex mutex_;
    std::int64_t confirmed_ = 0;
    std::int64_t failed_ = 0;
    std::string first_error_;
    std::string oversized_;
};

KafkaPublisher::KafkaPublisher(const KafkaSettings& settings, std::string topic)
    : tracker_(std::make_unique<DeliveryTracker>()), topic_(std::move(topic)) {
    auto conf = make_kafka_conf(settings, kProducerDefaults);
    std::string error;
    if (conf->set("dr_cb", tracker_.get(), error) != RdKafka::Conf::CONF_OK)
        throw RuntimeFailure("Kafka producer: " + error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (!producer_) throw UsageError("cannot create Kafka producer: " + error);
}

KafkaPublisher::~KafkaPublisher() {
    // Undelivered messages belong to an unrecorded batch; they are published again later.
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->flush(1000);
}

void KafkaPublisher::check_topic(std::chrono::milliseconds timeout) {
    if (topic_partitions(*producer_, topic_, timeout).empty())
        throw UsageError("Kafka topic " + topic_ + " does not exist: run db_setup first");
}

void KafkaPublisher::send(std::string_view key, std::string_view value) {
    for (;;) {
        const RdKafka::ErrorCode err = producer_->produce(
            topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
            const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, nullptr);
        if (err == RdKafka::ERR_NO_ERROR) break;
        if (err == RdKafka::ERR_MSG_SIZE_TOO_LARGE)
            throw RuntimeFailure(too_large(key, key.size() + value.size()));
        if (err != RdKafka::ERR__QUEUE_FULL)
            throw TransientError("Kafka produce to " + topic_ + ": " + RdKafka::err2str(err));
        producer_->poll(50);
    }
    producer_->poll(0);
}

void KafkaPublisher::confirm_all() {
    auto grace_end = std::chrono::steady_clock::time_point::max();
    while (producer_->outq_len() > 0) {
        producer_->flush(100);
        if (!shutdown_requested()) continue;
        const auto now = std::chrono::steady_clock::now();
        if (grace_end == std::chrono::steady_clock::time_point::max())
            grace_end = now + kShutdownGrace;
        if (now >= grace_end) throw TransientError("stopped before Kafka confirmed the batch");
    }
    if (std::string oversized = tracker_->take_oversized(); !oversized.empty())
        throw RuntimeFailure(oversized);
    const auto [failed, reason] = tracker_->take_failures();
    if (failed > 0)
        throw TransientError(log::cat(failed, " messages not delivered to ", topic_, ": ", reason));
}

std::int64_t KafkaPublisher::confirmed_total() const { return tracker_->confirmed(); }

bool KafkaPublisher::failed_fatally() const {
    std::string reason;
    return producer_->fatal_error(reason) != RdKafka::ERR_NO_ERROR;
}

}  // namespace pgtrail
