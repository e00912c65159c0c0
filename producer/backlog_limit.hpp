#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/cli_options.hpp"
#include "common/topic_partition.hpp"

namespace pgtrail {

// Holds the producer back while a consumer group is too far behind, so that a broker that
// keeps little (the dev broker: about 5 MB per partition) never drops messages before they
// were applied. Kafka protocol only: the lag is a partition's high watermark minus the
// offset the group committed to Kafka (the consumer commits there after every destination
// transaction), or minus the log start while the group has committed nothing.
class BacklogLimit {
public:
    // max_lag 0: never hold back, nothing is asked of Kafka.
    BacklogLimit(const KafkaSettings& settings, std::string group, std::int64_t max_lag);
    ~BacklogLimit();
    BacklogLimit(const BacklogLimit&) = delete;
    BacklogLimit& operator=(const BacklogLimit&) = delete;

    bool enabled() const { return reader_ != nullptr; }

    // Returns once no partition of `topics` lags by max_lag messages or more (counting delivered
    // messages only: confirm what was sent before asking). Throws TransientError when
    // shutdown is requested while waiting (the batch is unrecorded and published again at
    // the next start) or when Kafka does not answer.
    void wait_for_room(const std::vector<std::string>& topics);

private:
    // The largest lag of any partition, and which partition that is.
    std::pair<TopicPartition, std::int64_t> largest_lag(const std::vector<std::string>& topics);

    std::string group_;
    std::int64_t max_lag_;
    std::unique_ptr<RdKafka::KafkaConsumer> reader_;  // never subscribes, only reads offsets
};

}  // namespace pgtrail
