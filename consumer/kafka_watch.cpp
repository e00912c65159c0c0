#include "consumer/kafka_watch.hpp"

#include <memory>
#include <vector>

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/log.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

using Clock = std::chrono::steady_clock;

// How long the consumer may hear nothing before it asks; an idle consumer asks this often,
// two small requests each time.
constexpr std::chrono::milliseconds kQuietBeforeAsking{2000};
// How long one question may wait for its answer. Short, because the loop cannot notice a
// SIGTERM meanwhile; a broker that needs longer for a metadata request is not serving
// fetches either.
constexpr std::chrono::milliseconds kAnswerTimeout{1000};

constexpr const char* kMeanwhile = "nothing applied meanwhile, offsets not advanced";

// The codes by which librdkafka says the coordinator gave no answer, as opposed to an answer
// that is an error (a rebalance in progress, an unknown member): only the former is an
// outage.
bool unanswered(RdKafka::ErrorCode err) {
    switch (err) {
        case RdKafka::ERR__TIMED_OUT:
        case RdKafka::ERR__TIMED_OUT_QUEUE:
        case RdKafka::ERR__TRANSPORT:
        case RdKafka::ERR__ALL_BROKERS_DOWN:
        case RdKafka::ERR__RESOLVE:
        case RdKafka::ERR__WAIT_COORD:
        case RdKafka::ERR_REQUEST_TIMED_OUT:
        case RdKafka::ERR_NETWORK_EXCEPTION:
        case RdKafka::ERR_BROKER_NOT_AVAILABLE:
        case RdKafka::ERR_COORDINATOR_NOT_AVAILABLE:
        case RdKafka::ERR_NOT_COORDINATOR:
        case RdKafka::ERR_COORDINATOR_LOAD_IN_PROGRESS:
            return true;
        default:
            return false;
    }
}

// The consumer's own client reports the same connection failures; the asking client's
// would only repeat them.
class Silent : public RdKafka::EventCb {
public:
    void event_cb(RdKafka::Event&) override {}
};
Silent g_silent;

std::unique_ptr<RdKafka::KafkaConsumer> make_asker(const KafkaSettings& settings,
                                                   const std::string& group) {
    auto conf = make_kafka_conf(settings, {{"enable.auto.commit", "false"}});
    std::string error;
    if (conf->set("group.id", group, error) != RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(&g_silent), error) !=
            RdKafka::Conf::CONF_OK)
        throw UsageError("Kafka consumer: " + error);
    std::unique_ptr<RdKafka::KafkaConsumer> asker(
        RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!asker) throw UsageError("cannot create Kafka consumer: " + error);
    return asker;
}

long long whole_seconds(std::chrono::milliseconds d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

KafkaWatch::KafkaWatch(RdKafka::KafkaConsumer& consumer, const KafkaSettings& settings,
                       const std::string& group, std::chrono::seconds budget)
    : consumer_(consumer),
      asker_(make_asker(settings, group)),
      topic_(settings.topic),
      brokers_(budget, "cannot reach Kafka brokers " + settings.brokers),
      coordinator_(budget, "cannot reach the group coordinator of group " + group),
      last_answer_(Clock::now()) {}

KafkaWatch::~KafkaWatch() { asker_->close(); }

void KafkaWatch::answered() {
    last_answer_ = Clock::now();
    brokers_.after_success("Kafka brokers answer again; consuming");
    coordinator_.after_success("group coordinator answers again; consuming");
}

void KafkaWatch::check_quiet() {
    const auto asked = Clock::now();
    if (!in_outage() && asked - last_answer_ < kQuietBeforeAsking) return;
    if (shutdown_requested()) return;  // the loop ends at once, nothing to wait for
    if (auto silence = ask_brokers()) {
        brokers_.wait_out(*silence, kMeanwhile, asked);
        return;
    }
    brokers_.after_success("Kafka brokers answer again; consuming");
    if (auto silence = ask_coordinator()) {
        coordinator_.wait_out(*silence, kMeanwhile, asked);
        return;
    }
    coordinator_.after_success("group coordinator answers again; consuming");
    last_answer_ = Clock::now();
}

std::optional<std::string> KafkaWatch::ask_brokers() {
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode err =
        consumer_.metadata(false, nullptr, &raw, static_cast<int>(kAnswerTimeout.count()));
    const std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (err == RdKafka::ERR_NO_ERROR) return std::nullopt;
    // A metadata request is answered with its data or not at all; a refusal such as failed
    // authentication ends the program as it would at start.
    if (classify_kafka_error(err) != KafkaFailure::transient)
        throw_kafka_error(err, "Kafka metadata for " + topic_);
    return log::cat("no broker answered a metadata request within ", whole_seconds(kAnswerTimeout),
                    " s (", RdKafka::err2str(err), ")");
}

std::optional<std::string> KafkaWatch::ask_coordinator() {
    // Any partition will do: the question is whether the coordinator answers, not what it
    // has stored.
    std::vector<RdKafka::TopicPartition*> partitions{RdKafka::TopicPartition::create(topic_, 0)};
    const RdKafka::ErrorCode err =
        asker_->committed(partitions, static_cast<int>(kAnswerTimeout.count()));
    RdKafka::TopicPartition::destroy(partitions);
    if (!unanswered(err)) return std::nullopt;
    return log::cat("it did not answer an offset fetch within ", whole_seconds(kAnswerTimeout),
                    " s (", RdKafka::err2str(err), ")");
}

}  // namespace pgtrail
