#include "harness/dev_broker.hpp"

#include <stdexcept>

namespace pgtrail::it {
namespace {

// The cluster has one broker; the mock numbers brokers from 1.
constexpr int32_t kBrokerId = 1;

}  // namespace

DevBroker::DevBroker() {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The mock's own chatter about clients connecting and leaving is noise in test output.
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(errstr);
    }
    // rd_kafka_new takes conf only when it succeeds.
    handle_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr));
    if (!handle_) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("rd_kafka_new: ") + errstr);
    }
    cluster_.reset(rd_kafka_mock_cluster_new(handle_.get(), 1));
    if (!cluster_) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_.get());
}

DevBroker::~DevBroker() = default;

void DevBroker::create_topic(const std::string& topic, int partitions) {
    auto err = rd_kafka_mock_topic_create(cluster_.get(), topic.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error("mock topic " + topic + ": " + rd_kafka_err2str(err));
    }
}

void DevBroker::set_down() {
    auto err = rd_kafka_mock_broker_set_down(cluster_.get(), kBrokerId);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error(std::string("mock broker down: ") + rd_kafka_err2str(err));
}

void DevBroker::set_up() {
    auto err = rd_kafka_mock_broker_set_up(cluster_.get(), kBrokerId);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error(std::string("mock broker up: ") + rd_kafka_err2str(err));
}

}  // namespace pgtrail::it
