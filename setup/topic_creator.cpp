#include "setup/topic_creator.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <memory>

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/kafka_topic.hpp"
#include "common/log.hpp"

namespace pgtrail {
namespace {

void create_topic(RdKafka::Producer& client, const std::string& topic, int partitions,
                  std::chrono::milliseconds timeout) {
    rd_kafka_t* rk = client.c_ptr();
    char error[512];
    std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)> new_topic(
        rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, error, sizeof error),
        &rd_kafka_NewTopic_destroy);
    if (!new_topic) throw UsageError(std::string("topic ") + topic + ": " + error);
    std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(
        rd_kafka_queue_new(rk), &rd_kafka_queue_destroy);
    rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
    rd_kafka_CreateTopics(rk, topics, 1, nullptr, queue.get());
    std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> event(
        rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count())),
        &rd_kafka_event_destroy);
    if (!event) throw TransientError("Kafka did not answer CreateTopics for " + topic);
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw RuntimeFailure("cannot create Kafka topic " + topic + ": " +
                             rd_kafka_event_error_string(event.get()));
    std::size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(
        rd_kafka_event_CreateTopics_result(event.get()), &count);
    for (std::size_t i = 0; i < count; ++i) {
        const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            throw RuntimeFailure("cannot create Kafka topic " + topic + ": " +
                                 rd_kafka_topic_result_error_string(results[i]));
    }
}

}  // namespace

void ensure_topics(const KafkaSettings& settings, const std::vector<std::string>& topics,
                   int partitions, std::chrono::milliseconds timeout) {
    auto conf = make_kafka_conf(settings, {{"allow.auto.create.topics", "false"}});
    std::string error;
    std::unique_ptr<RdKafka::Producer> client(RdKafka::Producer::create(conf.get(), error));
    if (!client) throw UsageError("cannot create Kafka client: " + error);
    for (const std::string& topic : topics) {
        const int existing = static_cast<int>(topic_partitions(*client, topic, timeout).size());
        if (existing == 0) {
            create_topic(*client, topic, partitions, timeout);
            log::info("created Kafka topic ", topic, " with ", partitions, " partitions");
        } else if (existing != partitions) {
            log::warn("Kafka topic ", topic, " exists with ", existing, " partitions (asked for ",
                      partitions, "); leaving it as it is");
        }
    }
}

}  // namespace pgtrail
