#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>

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

}  // namespace pgtrail::it
