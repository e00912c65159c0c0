#include "consumer/dead_letters.hpp"

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/log.hpp"
#include "common/pqxx_compat.hpp"

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

constexpr int kConfirmTimeoutMs = 30000;

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

DeadLetterSink::DeadLetterSink(const KafkaSettings& settings, std::string source_topic)
    : source_topic_(std::move(source_topic)), topic_(dead_letter_topic(source_topic_)) {
    auto conf = make_kafka_conf(settings, kDeadLetterProducer);
    std::string error;
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (!producer_) throw UsageError("cannot create Kafka producer: " + error);
}

DeadLetterSink::~DeadLetterSink() { producer_->flush(1000); }

void DeadLetterSink::record(pqxx::transaction_base& tx, const std::vector<DeadLetter>& letters) {
    if (letters.empty()) return;
    for (const auto& letter : letters) {
        RdKafka::Headers* headers = RdKafka::Headers::create();
        headers->add("pgtrail.reason", letter.reason);
        headers->add("pgtrail.source", source_topic_ + "/" +
                                           std::to_string(letter.origin.partition) + "/" +
                                           std::to_string(letter.origin.offset));
        const std::string& value = letter.value.value_or(std::string());
        const std::string& key = letter.key.value_or(std::string());
        const RdKafka::ErrorCode err = producer_->produce(
            topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
            letter.value ? const_cast<char*>(value.data()) : nullptr, value.size(),
            letter.key ? key.data() : nullptr, key.size(), 0, headers, nullptr);
        if (err != RdKafka::ERR_NO_ERROR) {
            delete headers;  // ownership passes to librdkafka only on success
            throw TransientError("dead-letter topic " + topic_ + ": " + RdKafka::err2str(err));
        }
    }
    if (producer_->flush(kConfirmTimeoutMs) != RdKafka::ERR_NO_ERROR)
        throw TransientError("dead-letter topic " + topic_ + " did not confirm in time");
    for (const auto& letter : letters) {
        log::warn("dead letter from ", source_topic_, " partition ", letter.origin.partition,
                  " offset ", letter.origin.offset, ": ", letter.reason);
        pq::exec0(tx, kInsertDeadLetter, source_topic_, letter.origin.partition,
                  letter.origin.offset, or_null(hex(letter.key)), or_null(hex(letter.value)),
                  letter.reason);
    }
}

}  // namespace pgtrail
