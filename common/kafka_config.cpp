#include "common/kafka_config.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/log.hpp"

namespace pgtrail {
namespace {

void set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
    std::string error;
    if (conf.set(key, value, error) != RdKafka::Conf::CONF_OK)
        throw UsageError("Kafka property " + key + ": " + error);
}

// librdkafka's own log and error reports go through pgtrail's log, so they carry its
// timestamp and program name and follow --log-format instead of printing their own lines.
class KafkaLogForwarder : public RdKafka::EventCb {
public:
    void event_cb(RdKafka::Event& event) override {
        switch (event.type()) {
            case RdKafka::Event::EVENT_LOG:
                log::write(level_of(event.severity()),
                           log::cat("librdkafka ", event.fac(), ": ", event.str()));
                break;
            case RdKafka::Event::EVENT_ERROR:
                log::write(
                    event.fatal() ? log::Level::error : log::Level::warn,
                    log::cat("librdkafka: ", RdKafka::err2str(event.err()), ": ", event.str()));
                break;
            default:
                break;
        }
    }

private:
    static log::Level level_of(RdKafka::Event::Severity severity) {
        if (severity <= RdKafka::Event::EVENT_SEVERITY_ERROR) return log::Level::error;
        if (severity == RdKafka::Event::EVENT_SEVERITY_WARNING) return log::Level::warn;
        return log::Level::info;
    }
};

KafkaLogForwarder g_log_forwarder;

constexpr std::chrono::milliseconds kShortestWait{1000};
constexpr std::chrono::milliseconds kLongestRequest{60000};

}  // namespace

std::pair<std::string, std::string> split_property(const std::string& key_value) {
    const auto eq = key_value.find('=');
    if (eq == std::string::npos || eq == 0)
        throw UsageError("-X expects key=value, got '" + key_value + "'");
    return {key_value.substr(0, eq), key_value.substr(eq + 1)};
}

KafkaProperties with_waits_bounded(KafkaProperties defaults, std::chrono::seconds budget) {
    const auto whole = std::max<std::chrono::milliseconds>(budget, kShortestWait);
    defaults.emplace_back("message.timeout.ms", std::to_string(whole.count()));
    defaults.emplace_back("socket.timeout.ms",
                          std::to_string(std::min(whole, kLongestRequest).count()));
    return defaults;
}

std::unique_ptr<RdKafka::Conf> make_kafka_conf(const KafkaSettings& settings,
                                               const KafkaProperties& defaults) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    set(*conf, "bootstrap.servers", settings.brokers);
    std::string error;
    if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(&g_log_forwarder), error) !=
        RdKafka::Conf::CONF_OK)
        throw UsageError("Kafka event callback: " + error);
    // As the Java client does: with Nagle's algorithm a request written while the previous
    // one is unacknowledged waits for the broker's delayed ACK, up to 40 ms on Linux.
    set(*conf, "socket.nagle.disable", "true");
    for (const auto& [key, value] : defaults) set(*conf, key, value);
    for (const auto& property : settings.properties) {
        const auto [key, value] = split_property(property);
        set(*conf, key, value);
    }
    return conf;
}

}  // namespace pgtrail
