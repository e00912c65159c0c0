#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <utility>

namespace pgtrail::it {

// librdkafka's in-process mock cluster: one broker on a loopback port, data in memory. It
// lives on librdkafka threads inside the test process, so it dies with it.
class DevBroker {
public:
    DevBroker();
    ~DevBroker();
    DevBroker(const DevBroker&) = delete;
    DevBroker& operator=(const DevBroker&) = delete;

    const std::string& bootstraps() const { return bootstraps_; }

    // The mock does not implement the CreateTopics admin API, so tests create the topics
    // that db_setup would otherwise create.
    void create_topic(const std::string& topic, int partitions);

    // An outage: the broker drops its connections and refuses new ones until set_up. Every
    // test of the binary shares the broker, so tests hold a BrokerOutage instead, which brings
    // it back even when an assertion ends the test early.
    void set_down();
    void set_up();

private:
    struct HandleDeleter {
        void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
    };
    struct ClusterDeleter {
        void operator()(rd_kafka_mock_cluster_t* c) const { rd_kafka_mock_cluster_destroy(c); }
    };
    // Declared in this order so the cluster goes before the handle it runs on.
    std::unique_ptr<rd_kafka_t, HandleDeleter> handle_;
    std::unique_ptr<rd_kafka_mock_cluster_t, ClusterDeleter> cluster_;
    std::string bootstraps_;
};

// The broker down for the guard's lifetime (or until end()).
class BrokerOutage {
public:
    explicit BrokerOutage(DevBroker& broker) : broker_(&broker) { broker_->set_down(); }
    ~BrokerOutage() {
        try {
            end();
        } catch (...) {
            // a destructor cannot report; the next test's broker use will
        }
    }
    BrokerOutage(const BrokerOutage&) = delete;
    BrokerOutage& operator=(const BrokerOutage&) = delete;

    void end() {
        if (broker_ != nullptr) std::exchange(broker_, nullptr)->set_up();
    }

private:
    DevBroker* broker_;
};

}  // namespace pgtrail::it
