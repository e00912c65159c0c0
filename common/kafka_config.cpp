#include "common/kafka_config.hpp"

#include "common/errors.hpp"

namespace pgtrail {
namespace {

void set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
    std::string error;
    if (conf.set(key, value, error) != RdKafka::Conf::CONF_OK)
        throw UsageError("Kafka property " + key + ": " + error);
}

}  // namespace

std::pair<std::string, std::string> split_property(const std::string& key_value) {
    const auto eq = key_value.find('=');
    if (eq == std::string::npos || eq == 0)
        throw UsageError("-X expects key=value, got '" + key_value + "'");
    return {key_value.substr(0, eq), key_value.substr(eq + 1)};
}

std::unique_ptr<RdKafka::Conf> make_kafka_conf(const KafkaSettings& settings,
                                               const KafkaProperties& defaults) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    set(*conf, "bootstrap.servers", settings.brokers);
    for (const auto& [key, value] : defaults) set(*conf, key, value);
    for (const auto& property : settings.properties) {
        const auto [key, value] = split_property(property);
        set(*conf, key, value);
    }
    return conf;
}

}  // namespace pgtrail
