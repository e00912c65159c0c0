#include "consumer/decoded_batch.hpp"

#include <doctest/doctest.h>

using namespace pgtrail;

TEST_CASE("a batch splits by partition, each partition's changes and offset together") {
    DecodedBatch batch;
    for (int partition = 0; partition < 5; ++partition) {
        Change change;
        change.key = std::to_string(partition);
        change.origin = {partition, 10};
        batch.changes.push_back(change);
        batch.next_offsets[partition] = 11;
    }
    batch.dead_letters.push_back({{3, 7}, std::nullopt, std::nullopt, "bad"});

    const auto shares = split_by_partition(std::move(batch), 2);
    REQUIRE(shares.size() == 2);
    CHECK(shares[0].changes.size() == 3);  // partitions 0, 2, 4
    CHECK(shares[1].changes.size() == 2);  // partitions 1, 3
    CHECK(shares[0].next_offsets == PartitionOffsets{{0, 11}, {2, 11}, {4, 11}});
    CHECK(shares[1].next_offsets == PartitionOffsets{{1, 11}, {3, 11}});
    CHECK(shares[1].dead_letters.size() == 1);
    for (const auto& share : shares)
        for (const auto& change : share.changes)
            CHECK(share.next_offsets.count(change.origin.partition) == 1);
}
