#include "consumer/consumer_loop.hpp"

#include <future>
#include <pqxx/pqxx>

#include "common/cdc_schema.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_session.hpp"
#include "common/retry_policy.hpp"
#include "common/shutdown.hpp"
#include "common/table_rules.hpp"
#include "consumer/apply_lane.hpp"
#include "consumer/batch_reducer.hpp"
#include "consumer/consumer_monitor.hpp"
#include "consumer/envelope_decoder.hpp"
#include "consumer/kafka_source.hpp"
#include "consumer/schema_change.hpp"
#include "consumer/schema_evolver.hpp"
#include "consumer/table_routes.hpp"
#include "consumer/tombstone_pruner.hpp"

namespace pgtrail {
namespace {

constexpr std::chrono::milliseconds kIdleWait{200};
constexpr std::chrono::milliseconds kMetadataTimeout{5000};

// How many of the messages belong to the partitions of `offsets`.
std::size_t messages_of(const Messages& messages, const PartitionOffsets& offsets) {
    std::size_t count = 0;
    for (const auto& message : messages)
        count += offsets.count({message->topic_name(), message->partition()});
    return count;
}

// What a batch amounted to, for the progress log and metrics.
struct BatchOutcome {
    std::size_t messages = 0;
    std::size_t changes = 0;
    std::size_t dead_letters = 0;
};

class ConsumerLoop {
public:
    explicit ConsumerLoop(const ConsumerOptions& options)
        : options_(options),
          monitor_(options.monitoring, options.drain),
          offsets_(options.group),
          dead_letters_(options.kafka, options.retry.budget()),
          source_(options.kafka, options.group, options.retry.budget(),
                  [this](const std::vector<TopicPartition>& assigned) {
                      return load_offsets(assigned);
                  }),
          tombstones_(options.tombstone_retention),
          rules_(read_rules(options)) {
        for (int i = 0; i < options.apply_connections; ++i)
            lanes_.push_back(std::make_unique<ApplyLane>(options.dest, options.retry));
    }

    int run() {
        try {
            replicate();
        } catch (const ShutdownRequested& e) {
            // Every lane commits its partitions' changes with their offsets or nothing, so
            // what is stored is consistent whichever lanes got to commit.
            log::info(e.what());
        }
        monitor_.finish([this] { return lag(); });
        log::info("stopped; applied ", applied_, " messages, ", dead_, " dead letters");
        return kExitOk;
    }

private:
    // Until shutdown or, with --drain, until everything up to the start's watermarks is in.
    void replicate() {
        connection();
        if (rules_) check_rules(connection(), *rules_);
        const auto targets = wait_for_watermarks();
        if (options_.drain) monitor_.drain_started(total_lag(targets));
        source_.subscribe();
        while (!shutdown_requested()) {
            monitor_.tick([this] { return lag(); });
            if (options_.drain && drained(targets)) break;
            if (!tombstones_.prune_when_due(connection())) conn_.reset();
            Messages messages = collect();
            if (messages.empty()) continue;
            const auto started = std::chrono::steady_clock::now();
            const BatchOutcome batch = apply_when_schema_fits(messages);
            monitor_.batch_applied(static_cast<std::int64_t>(batch.messages),
                                   static_cast<std::int64_t>(batch.changes),
                                   static_cast<std::int64_t>(batch.dead_letters),
                                   std::chrono::steady_clock::now() - started);
            applied_ += batch.messages;
            dead_ += batch.dead_letters;
        }
    }

    static std::optional<Rules> read_rules(const ConsumerOptions& options) {
        if (options.rules_path.empty()) return std::nullopt;
        if (options.schema_evolution == SchemaEvolution::add_columns)
            throw UsageError(
                "--schema-evolution add-columns does not go with --rules yet: a ruled "
                "table's columns are chosen by its rule; rerun db_setup --rules after the "
                "source's columns change");
        return read_rules_file(options.rules_path);
    }

    pqxx::connection& connection() {
        if (!conn_) {
            conn_ = connect_with_retry(options_.dest, "destination", options_.retry.budget());
            require_bookkeeping_installed(*conn_);
        }
        return *conn_;
    }

    // With `claim`, the newly assigned partitions are claimed first (offset_store.hpp).
    PartitionOffsets load_offsets(const std::vector<TopicPartition>& claim = {}) {
        return with_retries(options_.retry.budget(),
                            "cannot read the stored offsets (cdc.consumer_offsets)", [&] {
                                try {
                                    pqxx::nontransaction tx(connection());
                                    offsets_.claim(tx, claim);
                                    return offsets_.load(tx);
                                } catch (...) {
                                    conn_.reset();
                                    throw;
                                }
                            });
    }

    std::map<TopicPartition, Watermarks> wait_for_watermarks() {
        return with_retries(options_.retry.budget(),
                            "cannot reach Kafka brokers " + options_.kafka.brokers,
                            [&] { return source_.watermarks(kMetadataTimeout); });
    }

    std::int64_t total_lag(const std::map<TopicPartition, Watermarks>& marks) {
        std::int64_t total = 0;
        for (const auto& [partition, messages] : partition_lag(marks, load_offsets()))
            total += messages;
        return total;
    }

    // Once per progress interval. Kafka not answering only costs this refresh; the stored
    // offsets are read with the retries every destination read has.
    std::optional<std::map<TopicPartition, std::int64_t>> lag() {
        // Asking an unreachable Kafka would hold the loop, and a SIGTERM, for the timeout.
        if (source_.kafka_unreachable()) return std::nullopt;
        try {
            return partition_lag(source_.watermarks(kMetadataTimeout), load_offsets());
        } catch (const TransientError& e) {
            log::warn("cannot read the lag: ", e.what(), "; lag not updated this interval");
            return std::nullopt;
        } catch (const ShutdownRequested&) {
            return std::nullopt;  // stopping during an outage: the last lag stands
        }
    }

    bool drained(const std::map<TopicPartition, Watermarks>& targets) {
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

    // nullptr when the destination has no table for the source's (without rules).
    const SourceRoutes* routes_of(const TableName& name) {
        const auto found = tables_.find(name);
        if (found != tables_.end()) return &found->second;
        pqxx::nontransaction tx(connection());
        std::optional<SourceRoutes> routes = load_routes(tx, name, rules_ ? &*rules_ : nullptr);
        if (!routes) return nullptr;
        if (options_.schema_evolution == SchemaEvolution::add_columns)
            absent_[name] = load_absent_values(tx, name);
        return &tables_.emplace(name, std::move(*routes)).first->second;
    }

    DecodedBatch decode(const Messages& messages) {
        DecodedBatch batch;
        for (const auto& message : messages) {
            const MessageOrigin origin{{message->topic_name(), message->partition()},
                                       message->offset()};
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
                const SourceRoutes* table = routes_of(envelope.table);
                if (table == nullptr)
                    throw BadMessage("unknown table " + envelope.table.display() +
                                     " on the destination");
                if (!table->applied()) continue;  // no rule names it
                batch.changes.push_back(
                    make_change(envelope, key, table->row, origin, absent_[envelope.table]));
            } catch (const BadMessage& e) {
                batch.dead_letters.push_back(
                    {origin, message_key(*message), message_value(*message), e.what()});
            }
        }
        return batch;
    }

    // A batch is applied in segments, each starting at a schema change (a record of the
    // producer's, one copy per partition, ahead of the table's changes that have the new
    // shape): everything before it is committed first, then the change is brought to the
    // destination (--schema-evolution add-columns) or, without it, checked against the
    // destination and held while an added column is missing there; then the changes after it
    // are applied. So no change is applied before the columns it carries exist.
    BatchOutcome apply_when_schema_fits(Messages& messages) {
        BatchOutcome total;
        for (Messages& segment : segments(std::move(messages))) {
            const BatchOutcome outcome = apply_segment(segment);
            total.messages += outcome.messages;
            total.changes += outcome.changes;
            total.dead_letters += outcome.dead_letters;
        }
        return total;
    }

    static std::vector<Messages> segments(Messages messages) {
        std::vector<Messages> out(1);
        for (auto& message : messages) {
            if (!out.back().empty() && schema_change_of(*message)) out.emplace_back();
            out.back().push_back(std::move(message));
        }
        return out;
    }

    // A segment whose rows have columns the destination lacks, or whose schema change
    // pgtrail does not replay, is held, offsets untouched, and tried again with a fresh look
    // at the destination's catalog until it fits (the reason says what to run) or the retry
    // budget is spent.
    BatchOutcome apply_segment(const Messages& messages) {
        RetryPolicy policy(options_.retry.budget(), "cannot apply batch");
        for (;;) {
            try {
                if (!messages.empty())
                    if (const auto change = schema_change_of(*messages.front()))
                        bring_schema_up_to_date(*change);
                const BatchOutcome outcome = apply(decode(messages), messages);
                policy.after_success("destination schema up to date; applying again");
                return outcome;
            } catch (const SchemaDrift& e) {
                forget(e.table);
                policy.wait_out(e.what(), "not applying, offsets not advanced");
            }
        }
    }

    void bring_schema_up_to_date(const SchemaChange& change) {
        if (options_.schema_evolution == SchemaEvolution::add_columns) return evolve(change);
        if (const SourceRoutes* table = routes_of(change.table))
            if (table->applied()) require_added_columns(table->row, change);
    }

    void evolve(const SchemaChange& change) {
        with_retries(options_.retry.budget(),
                     "cannot apply the schema change of " + change.table.display(), [&] {
                         try {
                             evolve_table(connection(), change);
                         } catch (const SchemaDrift&) {
                             throw;
                         } catch (...) {
                             conn_.reset();
                             throw;
                         }
                     });
        forget(change.table);  // its columns changed: read the catalog again
    }

    void forget(const TableName& table) {
        tables_.erase(table);
        absent_.erase(table);
    }

    // Each lane applies whole partitions in its own transaction, all lanes at once; the
    // next batch starts only when every lane has committed, so a partition's changes stay
    // in order.
    BatchOutcome apply(DecodedBatch batch, const Messages& messages) {
        std::size_t decoded_changes = batch.changes.size();
        std::size_t undecodable = batch.dead_letters.size();
        std::vector<DecodedBatch> shares = split_by_partition(std::move(batch), lanes_.size());
        std::vector<std::size_t> share_changes;
        for (auto& share : shares) {
            share_changes.push_back(share.changes.size());
            share.changes = reduce_batch(std::move(share.changes), [this](const TableName& t) {
                return tables_.at(t).keeps_every_change();
            });
        }
        std::vector<std::pair<std::size_t, std::future<std::size_t>>> running;
        for (std::size_t i = 0; i < shares.size(); ++i) {
            if (shares[i].empty()) continue;
            running.emplace_back(i, std::async(std::launch::async, [&, i] {
                                     return lanes_[i]->commit_with_retry(
                                         shares[i], messages, tables_, offsets_, dead_letters_);
                                 }));
        }
        BatchOutcome outcome{messages.size(), 0, 0};
        PartitionOffsets committed;
        std::exception_ptr failure;
        for (auto& [share, lane] : running) {
            try {
                outcome.dead_letters += lane.get();
                committed.insert(shares[share].next_offsets.begin(),
                                 shares[share].next_offsets.end());
            } catch (const PartitionsMoved& e) {
                // Rolled back: this member no longer owns the share's partitions.
                log::warn(e.what());
                outcome.messages -= messages_of(messages, shares[share].next_offsets);
                decoded_changes -= share_changes[share];
                undecodable -= shares[share].dead_letters.size();
            } catch (...) {
                if (!failure) failure = std::current_exception();
            }
        }
        if (!committed.empty()) source_.commit_to_group(committed);
        if (failure) std::rethrow_exception(failure);
        // Rejected by PostgreSQL: dead letters beyond those the decoder found.
        const std::size_t rejected = outcome.dead_letters - undecodable;
        outcome.changes = decoded_changes - rejected;
        return outcome;
    }

    const ConsumerOptions& options_;
    ConsumerMonitor monitor_;  // first: a taken metrics port ends the program before any work
    std::unique_ptr<pqxx::connection> conn_;  // catalog and offset reads
    OffsetStore offsets_;
    DeadLetterSink dead_letters_;
    KafkaSource source_;
    TombstonePruner tombstones_;
    std::optional<Rules> rules_;
    RoutingTable tables_;
    std::map<TableName, AbsentValues> absent_;  // with --schema-evolution, per loaded table
    std::vector<std::unique_ptr<ApplyLane>> lanes_;
    std::size_t applied_ = 0;  // messages, for the "stopped" line
    std::size_t dead_ = 0;     // dead letters among them
};

}  // namespace

int run_consumer(const ConsumerOptions& options) { return ConsumerLoop(options).run(); }

}  // namespace pgtrail
