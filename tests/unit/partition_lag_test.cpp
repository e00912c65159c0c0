#include <doctest/doctest.h>

#include "common/kafka_topic.hpp"

using namespace pgtrail;

TEST_CASE("lag is the high watermark minus the next offset to apply, per partition") {
    const TopicPartition p0{"t", 0}, p1{"t", 1}, p2{"t", 2}, q0{"u", 0};
    const std::map<TopicPartition, Watermarks> marks = {
        {p0, {0, 100}},  // stored 60: 40 to go
        {p1, {0, 50}},   // nothing stored yet: everything from the log start
        {p2, {30, 80}},  // stored offset below the log start: counted from the log start
        {q0, {0, 10}}};  // stored at the high watermark: caught up
    // A stored offset of another topic's partition 1 is not t's partition 1.
    const std::map<TopicPartition, std::int64_t> stored = {
        {p0, 60}, {p2, 5}, {q0, 10}, {{"u", 1}, 50}};
    const auto lag = partition_lag(marks, stored);
    CHECK(lag == std::map<TopicPartition, std::int64_t>{{p0, 40}, {p1, 50}, {p2, 50}, {q0, 0}});
}
