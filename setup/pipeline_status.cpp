#include "setup/pipeline_status.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <map>
#include <memory>

#include "common/cdc_schema.hpp"
#include "common/errors.hpp"
#include "common/kafka_config.hpp"
#include "common/kafka_topic.hpp"
#include "common/pqxx_compat.hpp"
#include "common/topic_routing.hpp"

namespace pgtrail {
namespace {

constexpr const char* kProducer = R"sql(
SELECT (SELECT round(extract(epoch FROM clock_timestamp() - updated_at)::numeric, 1)::text
        FROM cdc.producer_position),
       (SELECT count(*) FROM cdc.log)
)sql";

constexpr const char* kCommitted =
    "SELECT topic, partition, next_offset FROM cdc.consumer_offsets "
    "WHERE group_id = $1 ORDER BY topic, partition";

constexpr const char* kTableExists = "SELECT to_regclass($1) IS NOT NULL";

constexpr const char* kDeadLetters =
    "SELECT count(*), coalesce(to_char(max(created_at) AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD HH24:MI:SS.US') || ' UTC', '') FROM cdc.dead_letters";

// Initial loads (db_setup --snapshot), in progress and done; the table exists on
// destinations prepared by a db_setup that knows loads.
constexpr const char* kLoads = R"sql(
SELECT schema_name || '.' || table_name, state, rows_copied, rows_total, chunks, runs,
       round(extract(epoch FROM coalesce(finished_at, updated_at) - started_at)::numeric, 1)::text,
       round(extract(epoch FROM clock_timestamp() - updated_at)::numeric, 1)::text
FROM cdc.table_loads
ORDER BY schema_name, table_name
)sql";

// The guard column holds the source time of the change each row holds. Without an index
// on it this reads the whole table, which status users accept for an exact answer.
std::string newest_applied_sql(const TableInfo& table) {
    return "SELECT to_char(max(_cdc_ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' "
           "UTC', round(extract(epoch FROM clock_timestamp() - max(_cdc_ts))::numeric, 1)::text "
           "FROM " +
           table.name.quoted();
}

// Of the topics the consumer reads (--subscribe, --table-topics or --topic).
std::map<TopicPartition, Watermarks> watermarks_of(const KafkaSettings& kafka,
                                                   std::chrono::milliseconds timeout) {
    auto conf = make_kafka_conf(kafka, {});
    std::string error;
    std::unique_ptr<RdKafka::Producer> client(RdKafka::Producer::create(conf.get(), error));
    if (!client) throw UsageError("cannot create Kafka client: " + error);
    return topic_watermarks(*client, Subscription(kafka).topics(*client, timeout), timeout);
}

void print_topic_heading(std::ostream& out, const std::string& group, const std::string& topic,
                         std::string& shown) {
    if (topic == shown) return;
    out << "consumer group " << group << ", topic " << topic << ":\n";
    shown = topic;
}

void print_producer(std::ostream& out, pqxx::connection& source) {
    require_capture_installed(source);
    pqxx::read_transaction tx(source);
    const pqxx::row row = pq::exec1(tx, kProducer);
    out << "producer: position stored " << row[0].as<std::string>("?") << " s ago, "
        << row[1].as<std::int64_t>() << " changes waiting in cdc.log\n";
}

void print_consumer(std::ostream& out, pqxx::transaction_base& dest, const StatusRequest& request) {
    const Subscription subscription(request.kafka);
    std::map<TopicPartition, std::int64_t> committed;
    for (const auto& row : pq::exec(dest, kCommitted, request.group))
        if (subscription.matches(row[0].as<std::string>()))
            committed[{row[0].as<std::string>(), row[1].as<std::int32_t>()}] =
                row[2].as<std::int64_t>();
    std::string shown;
    if (request.kafka.brokers.empty()) {
        if (committed.empty())
            out << "consumer group " << request.group << ", topics " << subscription.display()
                << ":\n  nothing applied yet\n";
        for (const auto& [partition, next] : committed) {
            print_topic_heading(out, request.group, partition.topic, shown);
            out << "  partition " << partition.partition << ": applied up to offset " << next
                << "\n";
        }
        out << "  lag unknown: pass --brokers to compare with Kafka's high watermarks\n";
        return;
    }
    const auto marks = watermarks_of(request.kafka, request.kafka_timeout);
    std::int64_t total = 0;
    for (const auto& [partition, lag] : partition_lag(marks, committed)) {
        const auto stored = committed.find(partition);
        total += lag;
        print_topic_heading(out, request.group, partition.topic, shown);
        out << "  partition " << partition.partition << ": "
            << (stored == committed.end()
                    ? "nothing applied yet"
                    : "applied up to offset " + std::to_string(stored->second))
            << ", high watermark " << marks.at(partition).high << ", lag " << lag << "\n";
    }
    out << "  total lag " << total << "\n";
}

void print_tables(std::ostream& out, pqxx::transaction_base& dest,
                  const std::vector<TableInfo>& tables) {
    for (const auto& table : tables) {
        out << "table " << table.name.display() << ": ";
        if (!pq::exec1(dest, kTableExists, table.name.quoted())[0].as<bool>()) {
            out << "missing on the destination\n";
            continue;
        }
        const pqxx::row row = pq::exec1(dest, newest_applied_sql(table));
        if (row[0].is_null())
            out << "no replicated change yet\n";
        else
            out << "newest applied change " << row[0].as<std::string>() << " ("
                << row[1].as<std::string>() << " s ago)\n";
    }
}

void print_loads(std::ostream& out, pqxx::transaction_base& dest) {
    if (!pq::exec1(dest, kTableExists, "cdc.table_loads")[0].as<bool>()) return;
    for (const auto& row : pq::exec(dest, kLoads)) {
        const auto copied = row[2].as<std::int64_t>();
        out << "load " << row[0].as<std::string>() << ": ";
        if (row[1].as<std::string>() == "done") {
            out << "done, " << copied << " rows in " << row[6].as<std::string>() << " s";
        } else {
            out << "in progress, " << copied << " rows copied";
            if (!row[3].is_null() && row[3].as<std::int64_t>() > 0)
                out << " of about " << row[3].as<std::int64_t>() << " ("
                    << std::min<std::int64_t>(100, copied * 100 / row[3].as<std::int64_t>())
                    << "%)";
            out << ", last chunk " << row[7].as<std::string>() << " s ago";
        }
        out << " (" << row[4].as<std::int64_t>() << " chunks, " << row[5].as<int>() << " runs)\n";
    }
}

void print_dead_letters(std::ostream& out, pqxx::transaction_base& dest) {
    const pqxx::row row = pq::exec1(dest, kDeadLetters);
    out << "dead letters: " << row[0].as<std::int64_t>();
    if (row[0].as<std::int64_t>() > 0) out << ", newest " << row[1].as<std::string>();
    out << "\n";
}

}  // namespace

void print_status(std::ostream& out, pqxx::connection& source, pqxx::connection& dest,
                  const StatusRequest& request) {
    print_producer(out, source);
    require_bookkeeping_installed(dest);
    pqxx::read_transaction tx(dest);
    print_consumer(out, tx, request);
    print_tables(out, tx, request.tables);
    print_loads(out, tx);
    print_dead_letters(out, tx);
}

}  // namespace pgtrail
