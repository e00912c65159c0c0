#include "consumer/decoded_batch.hpp"

#include <doctest/doctest.h>

using namespace pgtrail;

TEST_CASE("a batch splits by partition, each partition's changes and offset together") {
    DecodedBatch batch;
    for (int partition = 0; partition < 5; ++partition) {
        Change change;
        change.key = std::to_string(partition);
        for (const std::string topic : {"a", "b"}) {
            change.origin = {{topic, partition}, 10};
            batch.changes.push_back(change);
            batch.next_offsets[{topic, partition}] = 11;
        }
    }
    batch.dead_letters.push_back({{{"a", 3}, 7}, std::nullopt, std::nullopt, "bad"});

    const auto shares = split_by_partition(std::move(batch), 2);
    REQUIRE(shares.size() == 2);
    std::size_t changes = 0, offsets = 0, letters = 0;
    for (const auto& share : shares) {
        changes += share.changes.size();
        offsets += share.next_offsets.size();
        letters += share.dead_letters.size();
        for (const auto& change : share.changes)
            CHECK(share.next_offsets.count(change.origin.partition) == 1);
        for (const auto& letter : share.dead_letters)
            CHECK(share.next_offsets.count(letter.origin.partition) == 1);
    }
    CHECK(changes == 10);
    CHECK(offsets == 10);
    CHECK(letters == 1);
    // Both lanes get work: partitions are spread, not piled on one lane.
    CHECK(!shares[0].changes.empty());
    CHECK(!shares[1].changes.empty());
}
