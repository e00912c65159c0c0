#include <doctest/doctest.h>

#include "common/kafka_topic.hpp"

using namespace pgtrail;

TEST_CASE("lag is the high watermark minus the next offset to apply, per partition") {
    const std::map<std::int32_t, Watermarks> marks = {
        {0, {0, 100}},  // stored 60: 40 to go
        {1, {0, 50}},   // nothing stored yet: everything from the log start
        {2, {30, 80}},  // stored offset below the log start: counted from the log start
        {3, {0, 10}}};  // stored at the high watermark: caught up
    const std::map<std::int32_t, std::int64_t> stored = {{0, 60}, {2, 5}, {3, 10}};
    const auto lag = partition_lag(marks, stored);
    CHECK(lag == std::map<std::int32_t, std::int64_t>{{0, 40}, {1, 50}, {2, 50}, {3, 0}});
}
