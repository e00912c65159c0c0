#include "consumer/consumer_loop.hpp"

#include <pqxx/pqxx>

#include "common/backoff.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_session.hpp"
#include "common/shutdown.hpp"
#include "consumer/batch_reducer.hpp"
#include "consumer/envelope_decoder.hpp"
#include "consumer/kafka_source.hpp"
#include "consumer/sql_applier.hpp"

namespace pgtrail {
namespace {

constexpr std::chrono::milliseconds kIdleWait{200};
constexpr std::chrono::milliseconds kMetadataTimeout{5000};
constexpr std::chrono::seconds kProgressEvery{5};

using Messages = std::vector<std::unique_ptr<RdKafka::Message>>;

std::optional<std::string> key_of(const RdKafka::Message& message) {
    if (message.key_pointer() == nullptr) return std::nullopt;
    return std::string(static_cast<const char*>(message.key_pointer()), message.key_len());
}

std::optional<std::string> value_of(const RdKafka::Message& message) {
    if (message.payload() == nullptr) return std::nullopt;
    return std::string(static_cast<const char*>(message.payload()), message.len());
}

// A consumed batch, decoded: what to apply, what to dead-letter, and where each partition
// resumes once it is committed.
struct DecodedBatch {
    std::vector<Change> changes;
    std::vector<DeadLetter> dead_letters;
    PartitionOffsets next_offsets;
    std::size_t messages = 0;
};

class ConsumerLoop {
public:
    explicit ConsumerLoop(const ConsumerOptions& options)
        : options_(options),
          offsets_(options.group, options.kafka.topic),
          dead_letters_(options.kafka, options.kafka.topic),
          source_(options.kafka, options.group, [this] { return load_offsets(); }) {}

    int run() {
        connection();
        const auto targets = wait_for_watermarks();
        source_.subscribe();
        std::size_t applied = 0, dead = 0, since_log = 0;
        auto last_log = std::chrono::steady_clock::now();
        while (!shutdown_requested()) {
            if (options_.drain && drained(targets)) break;
            Messages messages = collect();
            if (messages.empty()) continue;
            const DecodedBatch batch = apply_when_schema_fits(messages);
            applied += batch.messages;
            dead += batch.dead_letters.size();
            since_log += batch.messages;
            if (std::chrono::steady_clock::now() - last_log >= kProgressEvery) {
                log::info("applied ", since_log, " messages (", applied, " in total, ", dead,
                          " dead letters)");
                since_log = 0;
                last_log = std::chrono::steady_clock::now();
            }
        }
        log::info("stopped; applied ", applied, " messages, ", dead, " dead letters");
        return kExitOk;
    }

private:
    pqxx::connection& connection() {
        if (!conn_) {
            conn_ = connect_with_retry(options_.dest, "destination", options_.retry.budget());
            require_bookkeeping_installed(*conn_);
            applier_.attach(*conn_);
        }
        return *conn_;
    }

    PartitionOffsets load_offsets() {
        Backoff backoff(options_.retry.budget());
        for (;;) {
            try {
                pqxx::nontransaction tx(connection());
                return offsets_.load(tx);
            } catch (const std::exception& e) {
                if (!is_transient(e)) throw;
                conn_.reset();
                if (!backoff.wait()) throw RuntimeFailure(one_line(e.what()));
            }
        }
    }

    std::map<std::int32_t, Watermarks> wait_for_watermarks() {
        return retry_transient(options_.retry.budget(),
                               "reach Kafka brokers " + options_.kafka.brokers,
                               [&] { return source_.watermarks(kMetadataTimeout); });
    }

    bool drained(const std::map<std::int32_t, Watermarks>& targets) {
        const PartitionOffsets stored = load_offsets();
        for (const auto& [partition, marks] : targets) {
            if (marks.high <= marks.low) continue;
            const auto found = stored.find(partition);
            if (found == stored.end() || found->second < marks.high) return false;
        }
        return true;
    }

    // Waits for a first message, then takes whatever else is already fetched. Messages
    // read before a revocation are dropped: their partitions restart from the stored
    // offsets, here or in another consumer.
    Messages collect() {
        Messages messages;
        std::uint64_t generation = source_.generation();
        auto message = source_.next(kIdleWait);
        while (message) {
            if (source_.generation() != generation) {
                messages.clear();
                generation = source_.generation();
            }
            messages.push_back(std::move(message));
            if (messages.size() >= static_cast<std::size_t>(options_.batch_size)) break;
            message = source_.next(std::chrono::milliseconds(0));
        }
        if (source_.generation() != generation) messages.clear();
        return messages;
    }

    const TableInfo* table_info(const TableName& name) {
        const auto found = tables_.find(name);
        if (found != tables_.end()) return &found->second;
        pqxx::nontransaction tx(connection());
        std::optional<TableInfo> info = load_table(tx, name);
        if (!info) return nullptr;
        if (info->pk_columns.empty())
            throw RuntimeFailure("destination table " + name.display() + " has no primary key");
        return &tables_.emplace(name, std::move(*info)).first->second;
    }

    DecodedBatch decode(const Messages& messages) {
        DecodedBatch batch;
        batch.messages = messages.size();
        for (const auto& message : messages) {
            const MessageOrigin origin{message->partition(), message->offset()};
            batch.next_offsets[origin.partition] = origin.offset + 1;
            if (message->payload() == nullptr) continue;  // compaction tombstone
            const std::string_view value(static_cast<const char*>(message->payload()),
                                         message->len());
            std::optional<std::string_view> key;
            if (message->key_pointer() != nullptr)
                key = std::string_view(static_cast<const char*>(message->key_pointer()),
                                       message->key_len());
            try {
                const Envelope envelope = decode_envelope(value);
                const TableInfo* table = table_info(envelope.table);
                if (table == nullptr)
                    throw BadMessage("unknown table " + envelope.table.display() +
                                     " on the destination");
                batch.changes.push_back(make_change(envelope, key, *table, origin));
            } catch (const BadMessage& e) {
                batch.dead_letters.push_back(
                    {origin, key_of(*message), value_of(*message), e.what()});
            }
        }
        return batch;
    }

    // A batch whose rows have columns the destination lacks is held, offsets untouched, and
    // tried again with a fresh look at the destination's catalog until db_setup has added
    // the columns or the retry budget is spent.
    DecodedBatch apply_when_schema_fits(const Messages& messages) {
        Backoff backoff(options_.retry.budget());
        for (;;) {
            try {
                DecodedBatch batch = decode(messages);
                batch.changes = reduce_batch(std::move(batch.changes));
                commit_with_retry(batch, messages);
                if (backoff.in_outage()) log::info("destination schema up to date; applying again");
                return batch;
            } catch (const SchemaDrift& e) {
                if (!backoff.in_outage())
                    log::error(e.what(),
                               "; not applying, offsets not advanced; retrying for up to ",
                               options_.retry.retry_for_seconds, " s");
                tables_.erase(e.table);
                if (!backoff.wait()) throw RuntimeFailure(e.what());
            }
        }
    }

    void commit_with_retry(DecodedBatch& batch, const Messages& messages) {
        Backoff backoff(options_.retry.budget());
        for (;;) {
            try {
                commit(batch, messages);
                if (backoff.in_outage()) log::info("destination reachable again; batch applied");
                return;
            } catch (const std::exception& e) {
                if (!is_transient(e)) throw;
                if (!backoff.in_outage())
                    log::warn("cannot apply batch: ", one_line(e.what()),
                              "; offsets not advanced, retrying for up to ",
                              options_.retry.retry_for_seconds, " s");
                conn_.reset();
                if (!backoff.wait())
                    throw RuntimeFailure(log::cat("giving up on the destination after ",
                                                  options_.retry.retry_for_seconds,
                                                  " s: ", one_line(e.what())));
            }
        }
    }

    // One transaction: the changes, the dead letters, the offsets. If PostgreSQL rejects
    // the data, the batch is applied again change by change and the rejected ones become
    // dead letters.
    void commit(DecodedBatch& batch, const Messages& messages) {
        pqxx::connection& conn = connection();
        {
            pqxx::work tx(conn, "apply batch");
            try {
                applier_.apply(tx, batch.changes, tables_);
                finish(tx, batch);
                return;
            } catch (const std::exception& e) {
                if (!is_data_error(e)) throw;
                log::warn("batch rejected (", one_line(e.what()), "); isolating the bad changes");
            }
        }
        pqxx::work tx(conn, "apply batch change by change");
        std::vector<DeadLetter> rejected = applier_.apply_isolating(tx, batch.changes, tables_);
        for (auto& letter : rejected) {
            for (const auto& message : messages) {
                if (message->partition() != letter.origin.partition ||
                    message->offset() != letter.origin.offset)
                    continue;
                letter.key = key_of(*message);
                letter.value = value_of(*message);
            }
            batch.dead_letters.push_back(std::move(letter));
        }
        finish(tx, batch);
    }

    void finish(pqxx::work& tx, const DecodedBatch& batch) {
        dead_letters_.record(tx, batch.dead_letters);
        offsets_.store(tx, batch.next_offsets);
        tx.commit();
    }

    const ConsumerOptions& options_;
    std::unique_ptr<pqxx::connection> conn_;
    SqlApplier applier_;
    OffsetStore offsets_;
    DeadLetterSink dead_letters_;
    KafkaSource source_;
    std::map<TableName, TableInfo> tables_;
};

}  // namespace

int run_consumer(const ConsumerOptions& options) { return ConsumerLoop(options).run(); }

}  // namespace pgtrail
