#include "harness/dev_broker.hpp"

#include <algorithm>
#include <stdexcept>

namespace pgtrail::it {
namespace {

void require_ok(rd_kafka_resp_err_t err, const std::string& what) {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error("mock " + what + ": " + rd_kafka_err2str(err));
}

}  // namespace

DevBroker::DevBroker(int brokers) : brokers_(brokers) {
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
    cluster_.reset(rd_kafka_mock_cluster_new(handle_.get(), brokers));
    if (!cluster_) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_.get());
}

DevBroker::~DevBroker() = default;

void DevBroker::create_topic(const std::string& topic, int partitions) {
    require_ok(rd_kafka_mock_topic_create(cluster_.get(), topic.c_str(), partitions,
                                          std::min(brokers_, 3)),
               "topic " + topic);
}

void DevBroker::set_down(std::int32_t broker) {
    require_ok(rd_kafka_mock_broker_set_down(cluster_.get(), broker), "broker down");
}

void DevBroker::set_up(std::int32_t broker) {
    require_ok(rd_kafka_mock_broker_set_up(cluster_.get(), broker), "broker up");
}

void DevBroker::set_leader(const std::string& topic, std::int32_t partition, std::int32_t broker) {
    require_ok(rd_kafka_mock_partition_set_leader(cluster_.get(), topic.c_str(), partition, broker),
               "leader of " + topic);
}

void DevBroker::set_coordinator(const std::string& group, std::int32_t broker) {
    require_ok(rd_kafka_mock_coordinator_set(cluster_.get(), "group", group.c_str(), broker),
               "coordinator of " + group);
}

void DevBroker::set_round_trip(std::chrono::milliseconds delay) {
    require_ok(rd_kafka_mock_broker_set_rtt(cluster_.get(), -1, static_cast<int>(delay.count())),
               "round trip");
}

}  // namespace pgtrail::it
