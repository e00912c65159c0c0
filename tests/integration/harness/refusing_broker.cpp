#include "harness/refusing_broker.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>

namespace pgtrail::it {

BrokerRefusingTopic::BrokerRefusingTopic(const std::string& topic, const std::string& refused,
                                         rd_kafka_resp_err_t error) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(errstr);
    }
    handle_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr));
    if (!handle_) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(errstr);
    }
    rd_kafka_mock_cluster_t* cluster = rd_kafka_handle_mock_cluster(handle_.get());
    if (!topic.empty() &&
        rd_kafka_mock_topic_create(cluster, topic.c_str(), 3, 1) != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error("mock topic " + topic);
    if (rd_kafka_mock_topic_create(cluster, refused.c_str(), 0, 1) != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error("mock topic " + refused);
    rd_kafka_mock_topic_set_error(cluster, refused.c_str(), error);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster);
}

}  // namespace pgtrail::it
