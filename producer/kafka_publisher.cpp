#include "producer/kafka_publisher.hpp"

#include <algorithm>
#include <mutex>

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/kafka_topic.hpp"
#include "common/log.hpp"
#include "common/retry_policy.hpp"
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

// The topics of a batch for an error message: a few by name, then how many more.
std::string topic_list(const std::set<std::string>& topics) {
    constexpr std::size_t kNamed = 3;
    std::string out;
    std::size_t named = 0;
    for (const auto& topic : topics) {
        if (named == kNamed) return log::cat(out, " and ", topics.size() - kNamed, " more topics");
        out += (named++ == 0 ? "" : ", ") + topic;
    }
    return out.empty() ? std::string("Kafka") : out;
}

// After a shutdown request, how long to keep waiting for confirmations of the batch: a
// healthy broker confirms within milliseconds, and an outage must not hold the exit back
// (the unrecorded batch is published again at the next start).
constexpr std::chrono::seconds kShutdownGrace{1};

}  // namespace

// Counts delivery reports and keeps the first failure: its error code decides whether the
// batch is retried, and its latency tells since when Kafka has not been confirming.
class KafkaPublisher::DeliveryTracker : public RdKafka::DeliveryReportCb {
public:
    struct Failures {
        std::int64_t count = 0;
        RdKafka::ErrorCode first_error = RdKafka::ERR_NO_ERROR;
        std::string first_reason;
        std::chrono::steady_clock::time_point failing_since;
        std::string oversized;  // set when the broker refused a message as too large
    };

    void dr_cb(RdKafka::Message& message) override {
        std::lock_guard lock(mutex_);
        last_report_ = std::chrono::steady_clock::now();
        if (message.err() == RdKafka::ERR_NO_ERROR) {
            ++confirmed_;
            return;
        }
        if (failures_.count++ == 0) {
            failures_.first_error = message.err();
            failures_.first_reason = message.errstr() + " (topic " + message.topic_name() + ")";
            const std::int64_t waited_us = std::max<std::int64_t>(message.latency(), 0);
            failures_.failing_since =
                std::chrono::steady_clock::now() - std::chrono::microseconds(waited_us);
        }
        if (message.err() == RdKafka::ERR_MSG_SIZE_TOO_LARGE && failures_.oversized.empty())
            failures_.oversized =
                too_large(message.key() != nullptr ? *message.key() : "", message.len());
    }
    bool any_failed() const {
        std::lock_guard lock(mutex_);
        return failures_.count > 0;
    }
    // The failures since the last call; starts over.
    Failures take_failures() {
        std::lock_guard lock(mutex_);
        return std::exchange(failures_, Failures{});
    }
    std::int64_t confirmed() const {
        std::lock_guard lock(mutex_);
        return confirmed_;
    }
    std::chrono::steady_clock::time_point last_report() const {
        std::lock_guard lock(mutex_);
        return last_report_;
    }

private:
    mutable std::mutex mutex_;
    std::chrono::steady_clock::time_point last_report_;
    std::int64_t confirmed_ = 0;
    Failures failures_;
};

KafkaPublisher::KafkaPublisher(const KafkaSettings& settings, std::chrono::seconds retry_budget)
    : tracker_(std::make_unique<DeliveryTracker>()),
      // --retry-for 0 still gives a healthy broker time to answer.
      budget_(std::max<std::chrono::seconds>(retry_budget, std::chrono::seconds(1))) {
    auto conf = make_kafka_conf(settings, with_waits_bounded(kProducerDefaults, retry_budget));
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

void KafkaPublisher::check_topic(const std::string& topic, std::chrono::milliseconds timeout) {
    if (checked_topics_.count(topic) != 0) return;
    if (topic_partitions(*producer_, topic, timeout).empty())
        throw UsageError("Kafka topic " + topic + " does not exist: run db_setup first");
    checked_topics_.insert(topic);
}

void KafkaPublisher::send(const std::string& topic, std::string_view key, std::string_view value) {
    produce(topic, RdKafka::Topic::PARTITION_UA, key, value, nullptr);
}

std::size_t KafkaPublisher::send_to_every_partition(const std::string& topic, std::string_view key,
                                                    std::string_view header_name,
                                                    std::string_view header_value,
                                                    std::chrono::milliseconds timeout) {
    const std::vector<std::int32_t> partitions = topic_partitions(*producer_, topic, timeout);
    if (partitions.empty())
        throw UsageError("Kafka topic " + topic + " does not exist: run db_setup first");
    for (const std::int32_t partition : partitions) {
        std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
        headers->add(std::string(header_name), header_value.data(), header_value.size());
        produce(topic, partition, key, {}, std::move(headers));
    }
    return partitions.size();
}

void KafkaPublisher::produce(const std::string& topic, std::int32_t partition, std::string_view key,
                             std::string_view value, std::unique_ptr<RdKafka::Headers> headers) {
    for (;;) {
        // An empty value is sent as none: a null-value record (what header-only records are).
        void* payload = value.empty() ? nullptr : const_cast<char*>(value.data());
        const RdKafka::ErrorCode err =
            producer_->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY, payload,
                               value.size(), key.data(), key.size(), 0, headers.get(), nullptr);
        if (err == RdKafka::ERR_NO_ERROR) {
            // librdkafka owns the headers of a message it accepted.
            static_cast<void>(headers.release());
            last_send_ = std::chrono::steady_clock::now();
            sent_topics_.insert(topic);
            break;
        }
        if (err == RdKafka::ERR_MSG_SIZE_TOO_LARGE)
            throw RuntimeFailure(too_large(key, key.size() + value.size()));
        if (err != RdKafka::ERR__QUEUE_FULL) throw_kafka_error(err, "Kafka produce to " + topic);
        // A full queue drains only as Kafka confirms: during an outage that takes until the
        // messages time out, so a failure or a shutdown ends the wait.
        if (tracker_->any_failed()) throw_failures();
        throw_if_stalled();
        if (shutdown_requested())
            throw ShutdownRequested(
                "stopped while Kafka was not accepting the batch; it is published again at the "
                "next start");
        producer_->poll(50);
    }
    producer_->poll(0);
}

void KafkaPublisher::confirm_all() {
    auto grace_end = std::chrono::steady_clock::time_point::max();
    while (producer_->outq_len() > 0) {
        producer_->flush(100);
        throw_if_stalled();
        if (!shutdown_requested()) continue;
        const auto now = std::chrono::steady_clock::now();
        if (grace_end == std::chrono::steady_clock::time_point::max())
            grace_end = now + kShutdownGrace;
        if (now >= grace_end)
            throw ShutdownRequested(
                "stopped before Kafka confirmed the batch; its position is not stored, it is "
                "published again at the next start");
    }
    throw_failures();
    sent_topics_.clear();
}

// librdkafka reports an in-flight message only after message.timeout.ms plus the
// socket.timeout.ms of the request it rode in, so it is not left to say when to give up:
// Kafka having taken and confirmed nothing for the whole budget is the budget spent.
void KafkaPublisher::throw_if_stalled() const {
    const auto progress = std::max(last_send_, tracker_->last_report());
    if (std::chrono::steady_clock::now() - progress < budget_) return;
    throw TransientError(
        log::cat("Kafka confirmed none of the ", producer_->outq_len(), " messages sent to ",
                 topic_list(sent_topics_), " for ", budget_.count(), " s"),
        progress);
}

void KafkaPublisher::throw_failures() {
    const DeliveryTracker::Failures failed = tracker_->take_failures();
    if (failed.count == 0) return;
    if (!failed.oversized.empty()) throw RuntimeFailure(failed.oversized);
    const std::string reason = log::cat(failed.count, " messages not delivered to ",
                                        topic_list(sent_topics_), ": ", failed.first_reason);
    if (classify_kafka_error(failed.first_error) == KafkaFailure::transient)
        throw TransientError(reason, failed.failing_since);
    throw_kafka_error(failed.first_error, reason);
}

std::int64_t KafkaPublisher::confirmed_total() const { return tracker_->confirmed(); }

bool KafkaPublisher::failed_fatally() const {
    std::string reason;
    return producer_->fatal_error(reason) != RdKafka::ERR_NO_ERROR;
}

}  // namespace pgtrail
