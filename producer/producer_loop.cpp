#include "producer/producer_loop.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "common/cdc_schema.hpp"
#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_session.hpp"
#include "common/pqxx_compat.hpp"
#include "common/retry_policy.hpp"
#include "common/shutdown.hpp"
#include "common/topic_routing.hpp"
#include "producer/backlog_limit.hpp"
#include "producer/change_probe.hpp"
#include "producer/envelope_encoder.hpp"
#include "producer/kafka_publisher.hpp"
#include "producer/leader_lock.hpp"
#include "producer/log_pruner.hpp"
#include "producer/log_reader.hpp"
#include "producer/producer_monitor.hpp"

namespace pgtrail {
namespace {

// cdc.log is a queue, so its statistics describe whatever it held when autovacuum last
// analyzed it, often almost nothing just before a bulk transaction adds a million rows.
// Planned from them, the reader's and the pruner's `ORDER BY seq LIMIT n` fetched every row
// above their floor and sorted it, once per page and per chunk: quadratic in the backlog.
// Without sorts the planner walks the seq key in order and stops at the limit. Nothing else
// the producer runs sorts.
constexpr const char* kWalkLogInOrder = "SET enable_sort = off";

constexpr std::chrono::milliseconds kMetadataTimeout{5000};
// Even when the probe sees nothing, a batch now and then keeps the connection proven.
constexpr std::chrono::milliseconds kIdleBatchEvery{5000};

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct PublishedBatch {
    std::int64_t rows = 0;
    std::int64_t first_seq = 0;  // the lowest seq published
};

// Each captured table's topic, known to exist, by relation id.
std::map<std::uint32_t, std::string> topics_of(const SnapshotBatch& batch,
                                               const TopicRouting& routing,
                                               KafkaPublisher& publisher) {
    std::map<std::uint32_t, std::string> topics;
    for (const auto& [relid, table] : batch.tables()) {
        const std::string topic = routing.topic_of(table.name);
        publisher.check_topic(topic, kMetadataTimeout);
        topics.emplace(relid, topic);
    }
    return topics;
}

std::vector<std::string> distinct(const std::map<std::uint32_t, std::string>& topics) {
    std::set<std::string> names;
    for (const auto& [relid, topic] : topics) names.insert(topic);
    return {names.begin(), names.end()};
}

// Publishes one snapshot batch and records it. Its position is stored only once every topic
// confirmed every message, so a crash never leaves one table's topic ahead of another's:
// the whole batch is published again.
PublishedBatch publish_batch(pqxx::connection& conn, KafkaPublisher& publisher,
                             const TopicRouting& routing, int page_size, bool drain,
                             ProducerMonitor& monitor, BacklogLimit& backlog_limit) {
    SnapshotBatch batch(conn);
    if (drain) monitor.drain_started(batch.count_rows());
    const std::map<std::uint32_t, std::string> topics = topics_of(batch, routing, publisher);
    const std::vector<std::string> all_topics = distinct(topics);
    EnvelopeEncoder encoder(batch.source_db());
    std::vector<KafkaRecord> records;
    std::int64_t messages = 0;
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
        // The limit reads delivered messages only: what was sent must be confirmed first.
        if (backlog_limit.enabled()) publisher.confirm_all();
        backlog_limit.wait_for_room(all_topics);
        const pqxx::result page = batch.next_page(page_size);
        if (page.empty()) break;
        const std::int64_t processed_ms = now_ms();
        for (const auto& row : page) {
            const LogRow change = log_row(row);
            const auto table = batch.tables().find(change.relid);
            if (table == batch.tables().end())
                throw RuntimeFailure(log::cat("log row seq ", change.seq, " belongs to relation ",
                                              change.relid,
                                              " which is not in cdc.captured_tables; run "
                                              "db_setup --table for it"));
            const std::string& topic = topics.at(change.relid);
            if (change.op == 's') {
                const KafkaRecord record = EnvelopeEncoder::schema_change(change, table->second);
                messages += static_cast<std::int64_t>(publisher.send_to_every_partition(
                    topic, record.key, kSchemaChangeHeader, record.value, kMetadataTimeout));
                continue;
            }
            records.clear();
            encoder.encode(change, table->second, processed_ms, records);
            for (const auto& record : records) publisher.send(topic, record.key, record.value);
            messages += static_cast<std::int64_t>(records.size());
        }
        monitor.rows_sent(static_cast<std::int64_t>(page.size()));
    }
    publisher.confirm_all();
    const auto publishing = std::chrono::steady_clock::now() - started;
    batch.commit_published();
    monitor.batch_confirmed(batch.rows_read(), messages, publishing);
    return {batch.rows_read(), batch.first_seq()};
}

}  // namespace

int run_producer(const ProducerOptions& options) {
    ProducerMonitor monitor(options.monitoring, options.drain);
    const std::chrono::seconds budget = options.retry.budget();
    const TopicRouting routing(options.kafka);
    auto publisher = std::make_unique<KafkaPublisher>(options.kafka, budget);
    std::int64_t published_total = 0;
    try {
        if (!routing.per_table())
            with_retries(budget, "cannot reach Kafka brokers " + options.kafka.brokers,
                         [&] { publisher->check_topic(options.kafka.topic, kMetadataTimeout); });

        std::unique_ptr<pqxx::connection> conn;
        const ChangeProbe probe(std::chrono::milliseconds(options.poll_interval_ms));
        LogPruner pruner;
        BacklogLimit backlog_limit(options.kafka, options.group, options.max_group_lag);
        RetryPolicy policy(budget, "batch not published");
        while (!shutdown_requested()) {
            try {
                if (!conn) {
                    conn = connect_with_retry(options.source, "source", budget);
                    require_capture_installed(*conn);
                    {
                        pqxx::nontransaction tx(*conn);
                        pq::exec0(tx, kWalkLogInOrder);
                    }
                    if (!acquire_leader_lock(*conn)) break;
                }
                monitor.tick(*conn);
                const PublishedBatch published =
                    publish_batch(*conn, *publisher, routing, options.page_size, options.drain,
                                  monitor, backlog_limit);
                policy.after_success("publishing again");
                published_total += published.rows;
                pruner.prune(*conn, published.first_seq);
                if (options.drain) break;
                if (published.rows == 0)
                    probe.wait(*conn, std::min(kIdleBatchEvery, monitor.until_next_line()));
            } catch (const std::exception& e) {
                conn.reset();
                if (is_transient(e) && publisher->failed_fatally()) {
                    log::warn("Kafka producer failed fatally; starting a new one");
                    publisher = std::make_unique<KafkaPublisher>(options.kafka, budget);
                }
                policy.after_failure(e, "position not advanced");
            }
        }
    } catch (const ShutdownRequested& e) {
        log::info(e.what());
    }
    monitor.finish();
    log::info("stopped; published ", published_total, " changes");
    return kExitOk;
}

}  // namespace pgtrail
