#include "producer/backlog_limit.hpp"

#include <thread>
#include <vector>

#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/kafka_topic.hpp"
#include "common/log.hpp"
#include "common/shutdown.hpp"

namespace pgtrail {
namespace {

constexpr std::chrono::milliseconds kKafkaTimeout{5000};
// The consumer commits once per destination transaction; looking more often finds nothing new.
constexpr std::chrono::milliseconds kLookEvery{200};

}  // namespace

BacklogLimit::BacklogLimit(const KafkaSettings& settings, std::string group, std::int64_t max_lag)
    : group_(std::move(group)), max_lag_(max_lag) {
    if (max_lag_ <= 0) return;
    // It gets the producer's -X properties for TLS and SASL; librdkafka warns once that it
    // ignores the producer-only ones.
    auto conf = make_kafka_conf(settings, {{"enable.auto.commit", "false"}});
    std::string error;
    if (conf->set("group.id", group_, error) != RdKafka::Conf::CONF_OK)
        throw UsageError("--group: " + error);
    reader_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!reader_) throw UsageError("cannot create a Kafka client to read group offsets: " + error);
}

BacklogLimit::~BacklogLimit() {
    if (reader_) reader_->close();
}

std::pair<TopicPartition, std::int64_t> BacklogLimit::largest_lag(
    const std::vector<std::string>& topics) {
    const auto marks = topic_watermarks(*reader_, topics, kKafkaTimeout);
    std::vector<RdKafka::TopicPartition*> partitions;
    for (const auto& [partition, bounds] : marks)
        partitions.push_back(RdKafka::TopicPartition::create(partition.topic, partition.partition));
    const RdKafka::ErrorCode err =
        reader_->committed(partitions, static_cast<int>(kKafkaTimeout.count()));
    std::map<TopicPartition, std::int64_t> committed;
    for (const auto* partition : partitions)
        if (partition->offset() >= 0)
            committed[{partition->topic(), partition->partition()}] = partition->offset();
    RdKafka::TopicPartition::destroy(partitions);
    if (err != RdKafka::ERR_NO_ERROR)
        throw TransientError("cannot read the committed offsets of group " + group_ + ": " +
                             RdKafka::err2str(err));
    std::pair<TopicPartition, std::int64_t> largest{{}, 0};
    for (const auto& [partition, lag] : partition_lag(marks, committed))
        if (lag > largest.second) largest = {partition, lag};
    return largest;
}

void BacklogLimit::wait_for_room(const std::vector<std::string>& topics) {
    if (!reader_) return;
    auto lag = largest_lag(topics);
    if (lag.second < max_lag_) return;
    log::info("holding back: group ", group_, " is ", lag.second, " messages behind on ",
              lag.first.topic, " partition ", lag.first.partition, " (--max-group-lag ", max_lag_,
              "); publishing goes on when it catches up");
    const auto started = std::chrono::steady_clock::now();
    while (lag.second >= max_lag_) {
        if (shutdown_requested())
            throw TransientError("stopped while holding back for group " + group_);
        std::this_thread::sleep_for(kLookEvery);
        lag = largest_lag(topics);
    }
    log::info(
        "group ", group_, " caught up after ",
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
            .count(),
        " s of holding back; publishing");
}

}  // namespace pgtrail
