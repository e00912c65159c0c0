#include "consumer/dead_letters.hpp"

#include <cstdint>

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/kafka_topic.hpp"
#include "common/log.hpp"
#include "common/pqxx_compat.hpp"
#include "common/retry_policy.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

const KafkaProperties kDeadLetterProducer = {
    {"enable.idempotence", "true"},
    {"acks", "all"},
    {"allow.auto.create.topics", "false"},
    {"message.max.bytes", "16777216"},  // as large as the producer's messages
};

constexpr const char* kInsertDeadLetter = R"sql(
INSERT INTO cdc.dead_letters (topic, partition, "offset", key, value, reason)
VALUES ($1, $2, $3, decode($4, 'hex'), decode($5, 'hex'), $6)
)sql";

constexpr std::chrono::milliseconds kMetadataTimeout{5000};

std::optional<std::string> hex(const std::optional<std::string>& bytes) {
    if (!bytes) return std::nullopt;
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(bytes->size() * 2);
    for (unsigned char c : *bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

const char* or_null(const std::optional<std::string>& text) {
    return text ? text->c_str() : nullptr;
}

}  // namespace

// Delivery reports per record() call: each call's messages carry its id as their opaque,
// so concurrent lanes each wait for exactly their own letters. A report for a call that
// gave up (shutdown) finds no entry and is dropped.
class DeadLetterSink::DeliveryReports : public RdKafka::DeliveryReportCb {
public:
    struct Outcome {
        std::size_t expected = 0;
        std::size_t reported = 0;
        std::size_t failed = 0;
        RdKafka::ErrorCode first_error = RdKafka::ERR_NO_ERROR;
        std::string first_reason;
        std::chrono::steady_clock::time_point failing_since;
    };

    void dr_cb(RdKafka::Message& message) override {
        std::lock_guard lock(mutex_);
        const auto found = calls_.find(reinterpret_cast<std::uintptr_t>(message.msg_opaque()));
        if (found == calls_.end()) return;
        Outcome& outcome = found->second;
        ++outcome.reported;
        if (message.err() == RdKafka::ERR_NO_ERROR || outcome.failed++ > 0) return;
        outcome.first_error = message.err();
        outcome.first_reason = message.errstr();
        const std::int64_t waited_us = std::max<std::int64_t>(message.latency(), 0);
        outcome.failing_since =
            std::chrono::steady_clock::now() - std::chrono::microseconds(waited_us);
    }

    std::uintptr_t open(std::size_t expected) {
        std::lock_guard lock(mutex_);
        const std::uintptr_t id = ++last_id_;
        calls_[id].expected = expected;
        return id;
    }
    // Fewer messages went out than opened for (produce refused the rest).
    void expect(std::uintptr_t id, std::size_t expected) {
        std::lock_guard lock(mutex_);
        calls_[id].expected = expected;
    }
    bool done(std::uintptr_t id) {
        std::lock_guard lock(mutex_);
        const Outcome& outcome = calls_[id];
        return outcome.reported >= outcome.expected;
    }
    Outcome close(std::uintptr_t id) {
        std::lock_guard lock(mutex_);
        Outcome outcome = calls_[id];
        calls_.erase(id);
        return outcome;
    }

private:
    std::mutex mutex_;
    std::uintptr_t last_id_ = 0;
    std::map<std::uintptr_t, Outcome> calls_;
};

DeadLetterSink::DeadLetterSink(const KafkaSettings& settings, std::chrono::seconds retry_budget)
    : reports_(std::make_unique<DeliveryReports>()), topic_(dead_letter_topic(settings.topic)) {
    auto conf = make_kafka_conf(settings, with_waits_bounded(kDeadLetterProducer, retry_budget));
    std::string error;
    if (conf->set("dr_cb", reports_.get(), error) != RdKafka::Conf::CONF_OK)
        throw RuntimeFailure("Kafka dead-letter producer: " + error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (!producer_) throw UsageError("cannot create Kafka producer: " + error);
}

DeadLetterSink::~DeadLetterSink() {
    // Whatever is still unconfirmed belongs to a batch that was not committed.
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->flush(1000);
}

std::optional<std::string> DeadLetterSink::record(pqxx::transaction_base& tx,
                                                  const std::vector<DeadLetter>& letters) {
    if (letters.empty()) return std::nullopt;
    std::optional<std::string> problem = publish(letters);
    for (const auto& letter : letters) {
        log::warn("dead letter from ", letter.origin.partition.topic, " partition ",
                  letter.origin.partition.partition, " offset ", letter.origin.offset, ": ",
                  letter.reason);
        pq::exec0(tx, kInsertDeadLetter, letter.origin.partition.topic,
                  letter.origin.partition.partition, letter.origin.offset, or_null(hex(letter.key)),
                  or_null(hex(letter.value)), letter.reason);
    }
    if (!problem) return std::nullopt;
    return log::cat("dead-letter topic ", topic_, " ", *problem, ": the ", letters.size(),
                    " dead letters of this batch are kept in cdc.dead_letters only, not in Kafka, "
                    "and the offsets past them are stored; create the topic (db_setup does) or "
                    "allow pgtrail to write to it, then start the consumer again");
}

// Asked once per sink (and again after each refusal): a missing topic would otherwise only
// show as deliveries failing after message.timeout.ms.
std::optional<std::string> DeadLetterSink::topic_problem() {
    std::lock_guard lock(topic_checked_mutex_);
    if (topic_checked_) return std::nullopt;
    try {
        if (topic_partitions(*producer_, topic_, kMetadataTimeout).empty())
            return std::string("does not exist");
    } catch (const UsageError& e) {
        return std::string("cannot be used (") + e.what() + ")";
    }
    topic_checked_ = true;
    return std::nullopt;
}

std::optional<std::string> DeadLetterSink::publish(const std::vector<DeadLetter>& letters) {
    if (std::optional<std::string> problem = topic_problem()) return problem;
    const std::uintptr_t id = reports_->open(letters.size());
    std::size_t sent = 0;
    RdKafka::ErrorCode refused = RdKafka::ERR_NO_ERROR;
    for (const auto& letter : letters) {
        RdKafka::Headers* headers = RdKafka::Headers::create();
        headers->add("pgtrail.reason", letter.reason);
        headers->add("pgtrail.source", letter.origin.partition.display() + "/" +
                                           std::to_string(letter.origin.offset));
        const std::string& value = letter.value.value_or(std::string());
        const std::string& key = letter.key.value_or(std::string());
        refused = producer_->produce(
            topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
            letter.value ? const_cast<char*>(value.data()) : nullptr, value.size(),
            letter.key ? key.data() : nullptr, key.size(), 0, headers, reinterpret_cast<void*>(id));
        if (refused != RdKafka::ERR_NO_ERROR) {
            delete headers;  // ownership passes to librdkafka only on success
            break;
        }
        ++sent;
    }
    reports_->expect(id, sent);
    while (!reports_->done(id)) {
        if (shutdown_requested()) {
            reports_->close(id);
            throw ShutdownRequested(
                "stopped before Kafka confirmed the batch's dead letters; the batch is applied "
                "again at the next start");
        }
        producer_->poll(50);
    }
    const DeliveryReports::Outcome outcome = reports_->close(id);
    RdKafka::ErrorCode err = refused;
    std::string reason = refused != RdKafka::ERR_NO_ERROR ? RdKafka::err2str(refused) : "";
    auto failing_since = std::chrono::steady_clock::now();
    if (outcome.failed > 0) {
        err = outcome.first_error;
        reason = log::cat(outcome.failed, " of ", letters.size(),
                          " not confirmed: ", outcome.first_reason);
        failing_since = outcome.failing_since;
    }
    if (err == RdKafka::ERR_NO_ERROR) return std::nullopt;
    switch (classify_kafka_error(err)) {
        case KafkaFailure::configuration: {
            std::lock_guard lock(topic_checked_mutex_);
            topic_checked_ = false;
            return "refused them (" + reason + ")";
        }
        case KafkaFailure::transient:
            throw TransientError("dead-letter topic " + topic_ + ": " + reason, failing_since);
        case KafkaFailure::permanent:
            break;
    }
    throw RuntimeFailure("dead-letter topic " + topic_ + ": " + reason);
}

}  // namespace pgtrail
