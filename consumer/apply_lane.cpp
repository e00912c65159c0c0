#include "consumer/apply_lane.hpp"

#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_session.hpp"
#include "common/retry_policy.hpp"

namespace pgtrail {
namespace {

// The rejected change's original message, so the dead letter can be replayed as it came.
void attach_message(DeadLetter& letter, const Messages& messages) {
    for (const auto& message : messages) {
        if (message->partition() != letter.origin.partition.partition ||
            message->offset() != letter.origin.offset ||
            message->topic_name() != letter.origin.partition.topic)
            continue;
        letter.key = message_key(*message);
        letter.value = message_value(*message);
    }
}

}  // namespace

ApplyLane::ApplyLane(const std::string& dest, const RetrySettings& retry)
    : dest_(dest), retry_(retry) {}

pqxx::connection& ApplyLane::connection() {
    if (!conn_) {
        conn_ = connect_with_retry(dest_, "destination", retry_.budget());
        applier_.attach();
    }
    return *conn_;
}

std::size_t ApplyLane::commit_with_retry(const DecodedBatch& batch, const Messages& messages,
                                         const RoutingTable& tables, const OffsetStore& offsets,
                                         DeadLetterSink& dead_letters) {
    RetryPolicy policy(retry_.budget(), "cannot apply batch");
    for (;;) {
        try {
            const std::size_t dead = commit(batch, messages, tables, offsets, dead_letters);
            policy.after_success("destination reachable again; batch applied");
            return dead;
        } catch (const std::exception& e) {
            conn_.reset();
            policy.after_failure(e, "offsets not advanced");
        }
    }
}

// One transaction: the changes, the dead letters, the offsets. If PostgreSQL rejects the
// data, the batch is applied again change by change and the rejected ones become dead
// letters. A dead-letter topic that is missing or forbidden ends the program, but only
// after the commit: the letters are safe in cdc.dead_letters and the error says so.
std::size_t ApplyLane::commit(const DecodedBatch& batch, const Messages& messages,
                              const RoutingTable& tables, const OffsetStore& offsets,
                              DeadLetterSink& dead_letters) {
    pqxx::connection& conn = connection();
    applier_.prepare(conn, batch.changes, tables);
    bool isolate = false;
    {
        pqxx::work tx(conn, "apply batch");
        try {
            applier_.apply(tx, batch.changes, tables);
        } catch (const std::exception& e) {
            if (!is_data_error(e)) throw;
            log::warn("the destination rejected a batch (", one_line(e.what()),
                      "); applying it change by change, rejected changes become dead letters");
            isolate = true;
        }
        if (!isolate) {
            const auto unpublished = dead_letters.record(tx, batch.dead_letters);
            offsets.store(tx, batch.next_offsets);
            tx.commit();
            if (unpublished) throw UsageError(*unpublished);
            return batch.dead_letters.size();
        }
    }
    pqxx::work tx(conn, "apply batch change by change");
    std::vector<DeadLetter> letters = batch.dead_letters;
    for (auto& letter : applier_.apply_isolating(tx, batch.changes, tables)) {
        attach_message(letter, messages);
        letters.push_back(std::move(letter));
    }
    const auto unpublished = dead_letters.record(tx, letters);
    offsets.store(tx, batch.next_offsets);
    tx.commit();
    if (unpublished) throw UsageError(*unpublished);
    return letters.size();
}

}  // namespace pgtrail
