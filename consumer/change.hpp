#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/table_catalog.hpp"
#include "common/topic_partition.hpp"

namespace pgtrail {

// Where a message came from, for offsets and dead letters.
struct MessageOrigin {
    TopicPartition partition;
    std::int64_t offset = 0;
};

// One decoded change, ready to apply. `row` is the after image for c/u/r and the before
// image for d, as JSON text; `key` is the canonical key JSON (row_key.hpp).
struct Change {
    TableName table;
    char op = 0;
    std::int64_t ts_us = 0;
    std::int64_t seq = 0;
    std::optional<std::int64_t> txid;  // the source transaction, when the envelope names it
    std::string key;
    std::string row;
    // The json/jsonb columns of the row that hold JSON null (where `row` shows null, as for
    // SQL NULL), by position in the destination table's column list, counting from 1.
    std::vector<int> json_null_columns;
    MessageOrigin origin;

    bool is_delete() const { return op == 'd'; }
    // The guard order: a change is newer when its (ts_us, seq) is greater.
    bool newer_than(const Change& other) const {
        return ts_us != other.ts_us ? ts_us > other.ts_us : seq > other.seq;
    }
};

}  // namespace pgtrail
