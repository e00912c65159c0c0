#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace pgtrail::it {

// librdkafka's in-process mock cluster: brokers on loopback ports (one unless asked for
// more), data in memory. It lives on librdkafka threads inside the test process, so it dies
// with it. Brokers are numbered from 1.
class DevBroker {
public:
    explicit DevBroker(int brokers = 1);
    ~DevBroker();
    DevBroker(const DevBroker&) = delete;
    DevBroker& operator=(const DevBroker&) = delete;

    const std::string& bootstraps() const { return bootstraps_; }

    // The mock does not implement the CreateTopics admin API, so tests create the topics
    // that db_setup would otherwise create. Replicated to every broker, at most 3.
    void create_topic(const std::string& topic, int partitions);

    // An outage: the broker drops its connections and refuses new ones until set_up. Every
    // test of the binary shares the broker, so tests hold a BrokerOutage instead, which brings
    // it back even when an assertion ends the test early. The mock moves no leadership by
    // itself; set_leader and set_coordinator play the controller's part.
    void set_down(std::int32_t broker = 1);
    void set_up(std::int32_t broker = 1);
    void set_leader(const std::string& topic, std::int32_t partition, std::int32_t broker);
    // The broker that coordinates a consumer group.
    void set_coordinator(const std::string& group, std::int32_t broker);
    // Every request to every broker answered `delay` late (0: no delay), like a far network.
    void set_round_trip(std::chrono::milliseconds delay);

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
    int brokers_;
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

// Every broker slowed down by `delay` for the guard's lifetime.
class BrokerDelay {
public:
    BrokerDelay(DevBroker& broker, std::chrono::milliseconds delay) : broker_(broker) {
        broker_.set_round_trip(delay);
    }
    ~BrokerDelay() {
        try {
            broker_.set_round_trip(std::chrono::milliseconds(0));
        } catch (...) {
            // a destructor cannot report; the next test's broker use will
        }
    }
    BrokerDelay(const BrokerDelay&) = delete;
    BrokerDelay& operator=(const BrokerDelay&) = delete;

private:
    DevBroker& broker_;
};

}  // namespace pgtrail::it
