#include "consumer/kafka_source.hpp"

#include <exception>

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/kafka_topic.hpp"
#include "common/log.hpp"

namespace pgtrail {
namespace {

const KafkaProperties kConsumerDefaults = {
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "error"},
    // The Java client's default; range would pile partitions onto one member.
    {"partition.assignment.strategy", "roundrobin"},
    // A crashed consumer's partitions move on after 10 s instead of librdkafka's 45 s;
    // heartbeats come from a background thread, so a long apply does not count against it.
    {"session.timeout.ms", "10000"},
    {"heartbeat.interval.ms", "1000"},
    // Bounds how long a fetch waits for data. Real brokers answer as soon as data arrives;
    // the dev broker waits the full time. 10 ms keeps a lone change's latency low at the
    // cost of at most ~100 empty fetches per second and broker while idle.
    {"fetch.wait.max.ms", "10"},
    // librdkafka prefetches up to 64 MB by default; 16 MB keeps the consumer well inside
    // 100 MB and still holds several batches ahead.
    {"queued.max.messages.kbytes", "16384"},
};

constexpr std::chrono::milliseconds kMetadataTimeout{5000};
constexpr std::chrono::seconds kRematchEvery{10};

// As an SQL literal ('it''s'), for a statement the operator pastes into psql.
std::string sql_literal(const std::string& text) {
    std::string out = "'";
    for (const char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

}  // namespace

class KafkaSource::Rebalancer : public RdKafka::RebalanceCb {
public:
    Rebalancer(std::string subscription, OffsetLoader load)
        : subscription_(std::move(subscription)), load_(std::move(load)) {}

    void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override {
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            try {
                std::vector<TopicPartition> ids;
                for (auto* partition : partitions)
                    ids.push_back({partition->topic(), partition->partition()});
                const PartitionOffsets stored = load_(ids);
                std::map<std::string, std::string> described;  // per topic
                for (auto* partition : partitions) {
                    const auto found = stored.find({partition->topic(), partition->partition()});
                    partition->set_offset(found != stored.end() ? found->second
                                                                : RdKafka::Topic::OFFSET_BEGINNING);
                    described[partition->topic()] +=
                        " " + std::to_string(partition->partition()) + "@" +
                        (found != stored.end() ? std::to_string(found->second) : "start");
                }
                assigned_.clear();
                for (auto* partition : partitions)
                    assigned_[{partition->topic(), partition->partition()}] = partition->offset();
                consumer->assign(partitions);
                ++assignments_;
                if (described.empty())
                    log::info("assigned partitions of ", subscription_, ": none");
                for (const auto& [topic, list] : described)
                    log::info("assigned partitions of ", topic, ":", list);
            } catch (const std::exception& e) {
                // Never start from a guessed position; the error surfaces from next().
                failure_ = std::current_exception();
                consumer->unassign();
            }
        } else {
            ++generation_;
            assigned_.clear();
            consumer->unassign();
        }
    }

    void rethrow_failure() {
        if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
    }
    std::uint64_t generation() const { return generation_; }
    // How many assignments the group made; each is an answer from its coordinator.
    std::uint64_t assignments() const { return assignments_; }
    // Where each assigned partition started: the stored offset (or OFFSET_BEGINNING).
    const PartitionOffsets& assigned() const { return assigned_; }

private:
    PartitionOffsets assigned_;
    std::string subscription_;
    OffsetLoader load_;
    std::exception_ptr failure_;
    std::uint64_t generation_ = 0;
    std::uint64_t assignments_ = 0;
};

KafkaSource::KafkaSource(const KafkaSettings& settings, const std::string& group,
                         std::chrono::seconds retry_budget, OffsetLoader claim_offsets)
    : subscription_(settings),
      rebalancer_(std::make_unique<Rebalancer>(subscription_.display(), std::move(claim_offsets))),
      settings_(settings),
      group_(group),
      retry_budget_(retry_budget) {
    auto conf = make_kafka_conf(settings, kConsumerDefaults);
    std::string error, strategy;
    // Under the cooperative protocol a rebalance revokes some partitions and keeps the
    // others running. Batches are dropped whole on any revocation and positions are set only
    // on assignment, so a kept partition would skip the dropped messages: refuse it.
    if (conf->get("partition.assignment.strategy", strategy) == RdKafka::Conf::CONF_OK &&
        strategy.find("cooperative") != std::string::npos)
        throw UsageError("-X partition.assignment.strategy=" + strategy +
                         ": the cooperative rebalance protocol is not supported; use range or "
                         "roundrobin");
    if (conf->set("group.id", group, error) != RdKafka::Conf::CONF_OK ||
        conf->set("rebalance_cb", rebalancer_.get(), error) != RdKafka::Conf::CONF_OK)
        throw UsageError("Kafka consumer: " + error);
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer_) throw UsageError("cannot create Kafka consumer: " + error);
}

// close() leaves the group politely so its partitions move on at once, but it waits for the
// group coordinator: with Kafka unreachable it can wait without end (seen as a consumer that
// never exited after --retry-for). Then the handle is destroyed without it (librdkafka's C++
// destructor skips the close); the group drops the member after session.timeout.ms and nothing
// is lost, the offsets live in the destination.
KafkaSource::~KafkaSource() {
    if (!kafka_unreachable()) consumer_->close();
}

std::map<TopicPartition, Watermarks> KafkaSource::watermarks(std::chrono::milliseconds timeout) {
    return topic_watermarks(*consumer_, subscription_.topics(*consumer_, timeout), timeout);
}

void KafkaSource::subscribe() {
    subscribe_to(subscription_.topics(*consumer_, kMetadataTimeout));
    // From here on the group join, and every fetch after it, waits on Kafka.
    watch_.emplace(*consumer_, settings_, group_, retry_budget_);
}

void KafkaSource::subscribe_to(std::vector<std::string> topics) {
    const RdKafka::ErrorCode err = consumer_->subscribe(topics);
    if (err != RdKafka::ERR_NO_ERROR)
        throw RuntimeFailure("cannot subscribe to " + subscription_.display() + ": " +
                             RdKafka::err2str(err));
    subscribed_ = std::move(topics);
    subscribed_at_ = std::chrono::steady_clock::now();
}

// The pattern is matched here, not by librdkafka, so the topics read are exactly those that
// --drain and the lag count. A topic created later (a table added with its own topic) is
// subscribed to within kRematchEvery.
void KafkaSource::rematch_pattern() {
    if (!subscription_.is_pattern() || kafka_unreachable() ||
        std::chrono::steady_clock::now() - subscribed_at_ < kRematchEvery)
        return;
    subscribed_at_ = std::chrono::steady_clock::now();
    try {
        std::vector<std::string> topics = subscription_.topics(*consumer_, kMetadataTimeout);
        if (topics == subscribed_) return;
        log::info("topics matching ", subscription_.display(), " changed; subscribing to ",
                  topics.size(), " topics");
        subscribe_to(std::move(topics));
    } catch (const TransientError&) {
        // Kafka not answering is the watch's to report; the subscription stands meanwhile.
    } catch (const UsageError&) {
        // Every matching topic deleted: keep reading what was subscribed.
    }
}

std::unique_ptr<RdKafka::Message> KafkaSource::next(std::chrono::milliseconds timeout) {
    rematch_pattern();
    std::unique_ptr<RdKafka::Message> message(
        consumer_->consume(static_cast<int>(timeout.count())));
    rebalancer_->rethrow_failure();
    if (rebalancer_->assignments() != assignments_seen_) {
        assignments_seen_ = rebalancer_->assignments();
        watch_->answered();
    }
    switch (message->err()) {
        case RdKafka::ERR_NO_ERROR:
            watch_->answered();
            return message;
        case RdKafka::ERR__PARTITION_EOF:
            watch_->answered();
            return nullptr;
        case RdKafka::ERR__TIMED_OUT:
            watch_->check_quiet();
            return nullptr;
        case RdKafka::ERR__AUTO_OFFSET_RESET:
        case RdKafka::ERR_OFFSET_OUT_OF_RANGE:
            throw RuntimeFailure(lost_messages(*message));
        default:
            if (message->err() == RdKafka::ERR__FATAL)
                throw RuntimeFailure("Kafka consumer failed fatally on " + subscription_.display() +
                                     ": " + message->errstr() +
                                     "; offsets are stored with the changes, a restart resumes "
                                     "where it stopped");
            log::warn("Kafka consumer on ", subscription_.display(), ": ", message->errstr(),
                      "; librdkafka retries by itself, consuming goes on");
            watch_->check_quiet();
            return nullptr;
    }
}

// Kafka cannot serve the offset the consumer needs. Below the log start, retention removed
// messages that were never applied; beyond its end, the topic is not the one the offsets
// were stored for. Says which, and how to heal; never resets the offset itself.
std::string KafkaSource::lost_messages(const RdKafka::Message& error) {
    const TopicPartition partition{error.topic_name(), error.partition()};
    const std::string& topic = partition.topic;
    const std::string where = topic + " partition " + std::to_string(partition.partition);
    // The message carries the offset that could not be fetched; without it, the partition's
    // starting position is the one in question.
    std::int64_t wanted = error.offset();
    if (wanted < 0) {
        const auto found = rebalancer_->assigned().find(partition);
        if (found != rebalancer_->assigned().end()) wanted = found->second;
    }
    const std::string heal =
        ". To go on: on the destination run DELETE FROM cdc.consumer_offsets WHERE group_id = " +
        sql_literal(group_) + " AND topic = " + sql_literal(topic) +
        ", start the consumer (every partition then starts at its log start; what was applied "
        "before is skipped in effect), then run db_verify --repair to send every row that "
        "still differs again";
    std::int64_t low = -1, high = -1;
    const RdKafka::ErrorCode marks =
        consumer_->query_watermark_offsets(topic, partition.partition, &low, &high, 5000);
    if (marks != RdKafka::ERR_NO_ERROR)
        return "changes may be lost: " + where + " cannot serve " +
               (wanted >= 0 ? "offset " + std::to_string(wanted) : "the start of its log") + " (" +
               error.errstr() + ") and its log bounds are unreadable (" + RdKafka::err2str(marks) +
               ")" + heal;
    if (wanted > high)
        return "changes lost: " + where + " ends at offset " + std::to_string(high) +
               " but the destination stored " + std::to_string(wanted) +
               ": the topic was recreated or truncated (a restarted dev broker starts empty), "
               "the messages it held before are gone and offsets stored for it mean nothing "
               "in the new one" +
               heal;
    if (wanted < 0)
        return "changes lost: " + where + " no longer holds the offsets before " +
               std::to_string(low) + "; they expired before they were applied (" + error.errstr() +
               ")" + heal;
    if (wanted < low)
        return "changes lost: " + where + " no longer holds offsets " + std::to_string(wanted) +
               " to " + std::to_string(low - 1) + " (" + std::to_string(low - wanted) +
               " messages, its log now starts at " + std::to_string(low) +
               "); they expired before they were applied" + heal;
    return "changes may be lost: " + where + " refused offset " + std::to_string(wanted) +
           " although its log holds " + std::to_string(low) + " to " + std::to_string(high - 1) +
           " (" + error.errstr() + ")" + heal;
}

void KafkaSource::commit_to_group(const PartitionOffsets& next_offsets) {
    std::vector<RdKafka::TopicPartition*> partitions;
    for (const auto& [partition, offset] : next_offsets)
        partitions.push_back(
            RdKafka::TopicPartition::create(partition.topic, partition.partition, offset));
    // A refusal (the partition moved on in a rebalance) costs only this report.
    consumer_->commitAsync(partitions);
    RdKafka::TopicPartition::destroy(partitions);
}

std::uint64_t KafkaSource::generation() const { return rebalancer_->generation(); }

}  // namespace pgtrail
