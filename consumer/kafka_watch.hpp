#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/cli_options.hpp"
#include "common/retry_policy.hpp"

namespace pgtrail {

// Whether Kafka still answers a consumer that receives nothing. librdkafka reconnects and
// rejoins the group by itself without end, so a consumer whose brokers or group coordinator
// are gone would poll forever. Once the consumer has heard nothing for a while, this asks
// them itself (a metadata request, which any broker answers, and an offset fetch, which only
// the group's coordinator answers) and waits out their silence like every other outage:
// within --retry-for, then exit 3. An idle consumer, a member that got no partitions and a
// rebalance in progress all still get answers, so none of them is an outage.
//
// The offset fetch goes through a client of its own that never joins the group: librdkafka
// sends nothing else to the coordinator while the consumer's JoinGroup request is pending,
// and a rebalance may keep that pending for minutes (until every member has rejoined).
class KafkaWatch {
public:
    KafkaWatch(RdKafka::KafkaConsumer& consumer, const KafkaSettings& settings,
               const std::string& group, std::chrono::seconds budget);
    ~KafkaWatch();
    KafkaWatch(const KafkaWatch&) = delete;
    KafkaWatch& operator=(const KafkaWatch&) = delete;

    // Kafka answered: a message or a fetch's end of partition arrived, or the group
    // assigned partitions.
    void answered();

    // Call when a poll brought nothing. After a quiet while asks the brokers and the
    // coordinator; when one of them does not answer, sleeps the retry policy's next step and
    // returns (poll again), throws ShutdownRequested, or, once the silence outlasted the
    // budget, RuntimeFailure naming what stayed unreachable and for how long.
    void check_quiet();

    // Brokers or coordinator did not answer the last time they were asked.
    bool in_outage() const { return brokers_.in_outage() || coordinator_.in_outage(); }

private:
    // nullopt when they answered, otherwise why they did not.
    std::optional<std::string> ask_brokers();
    std::optional<std::string> ask_coordinator();

    RdKafka::KafkaConsumer& consumer_;
    std::unique_ptr<RdKafka::KafkaConsumer> asker_;  // same group, never subscribes
    std::string topic_;
    RetryPolicy brokers_;
    RetryPolicy coordinator_;
    std::chrono::steady_clock::time_point last_answer_;
};

}  // namespace pgtrail
