#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

namespace pgtrail::it {

// A private one-broker mock cluster holding `topic` (3 partitions, unless empty) and
// answering every metadata request for `refused` with `error`: how a real cluster answers
// for a topic that does not exist (automatic creation off) or that pgtrail may not write.
// The shared broker cannot: it creates any topic a client asks about (the mock of librdkafka
// 2.0, Debian 12's, speaks only Metadata versions that cannot ask for no automatic
// creation), so even "does not exist" has to be an error set on the topic.
//
// `refused` gets zero partitions before its error is set, as a broker reports such a topic:
// rd_kafka_mock_topic_set_error alone creates it with the default partitions, which the mock
// then lists, leaders included, beside the topic-level error. Clients of librdkafka 2.1.0 to
// 2.8.x (Debian 13 ships 2.8.0) crash on that answer: they update the leader of each listed
// partition of a topic whose partitions they never learnt, dereferencing a partition they do
// not have (librdkafka issue 4907, fixed in 2.10.0).
class BrokerRefusingTopic {
public:
    BrokerRefusingTopic(const std::string& topic, const std::string& refused,
                        rd_kafka_resp_err_t error);
    const std::string& bootstraps() const { return bootstraps_; }

private:
    struct HandleDeleter {
        void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
    };
    std::unique_ptr<rd_kafka_t, HandleDeleter> handle_;  // owns the mock cluster
    std::string bootstraps_;
};

}  // namespace pgtrail::it
