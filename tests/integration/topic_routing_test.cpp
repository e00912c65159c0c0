// --table-topics gives every captured table a Kafka topic of its own, and --subscribe lets a
// consumer read some of them. This file proves that each table's changes land on its topic
// and nowhere else (read back from Kafka, not inferred from the destination), that a consumer
// applies exactly the topics it subscribed to and stores its offsets per topic, that a pattern
// subscription picks up a table captured while it runs, that a producer killed with -9 in the
// middle of a batch spanning two topics leaves no change out of either, and that bad topic
// settings stop every program with exit 2 and a one-line reason.
#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/pqxx_compat.hpp"
#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/program.hpp"
#include "harness/refusing_broker.hpp"
#include "harness/replica.hpp"
#include "harness/services.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

constexpr int kSigkill = 128 + 9;
constexpr const char* kOddTable = R"(public."Odd Name")";

// The template of this test: topics tN.<schema>.<table>, which no other test's topic meets.
std::string topic_template(const TestEnv& env) { return env.topic() + ".{schema}.{table}"; }

Args per_table(const TestEnv& env) { return {"--table-topics", topic_template(env)}; }

Args with(Args args, const Args& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// The topic the template names for schema.table, spelled as the test expects it.
std::string topic_of(const TestEnv& env, const std::string& schema_dot_table) {
    return env.topic() + "." + schema_dot_table;
}

// The dev broker cannot create topics for db_setup; it finds these existing.
void create_topics(const std::vector<std::string>& topics, int partitions) {
    for (const auto& topic : topics) services().broker.create_topic(topic, partitions);
}

// producer --drain and consumer --drain with the test's topic flags, each required to exit 0.
void drain(TestEnv& env, const Args& consumer_extra) {
    Program producer = env.producer(with({"--drain", "--retry-for", "10"}, per_table(env)));
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    Program consumer = env.consumer(
        with({"--drain", "--retry-for", "10", "-X", "session.timeout.ms=6000"}, consumer_extra));
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
}

// What a topic holds, as a Kafka reader sees it: which tables the envelopes name, which keys
// the messages carry, and the schema-change markers (null-value records) by partition.
struct TopicContent {
    std::size_t messages = 0;
    std::set<std::string> tables;  // source.schema "." source.table of every envelope
    std::set<std::string> keys;    // of every envelope
    std::vector<std::int32_t> schema_change_partitions;
    std::set<std::string> schema_change_tables;  // the markers' headers' schema.table
    std::string problems;                        // anything not a well-formed message
};

TopicContent content_of(const TestEnv& env, const std::string& topic) {
    TopicContent out;
    for (const auto& message : read_all_messages(env.brokers(), topic)) {
        ++out.messages;
        if (!message.value) {
            const auto header = message.header("pgtrail.schema");
            if (!header) {
                out.problems += "null-value record without pgtrail.schema header\n";
                continue;
            }
            rapidjson::Document marker;
            marker.Parse(header->c_str());
            if (marker.HasParseError() || !marker.IsObject() || !marker.HasMember("table")) {
                out.problems += "bad schema-change header: " + *header + "\n";
                continue;
            }
            out.schema_change_partitions.push_back(message.partition);
            out.schema_change_tables.insert(std::string(marker["schema"].GetString()) + "." +
                                            marker["table"].GetString());
            continue;
        }
        rapidjson::Document envelope;
        envelope.Parse(message.value->c_str());
        if (envelope.HasParseError() || !envelope.IsObject() || !envelope.HasMember("source")) {
            out.problems += "not an envelope: " + *message.value + "\n";
            continue;
        }
        const auto& source = envelope["source"];
        out.tables.insert(std::string(source["schema"].GetString()) + "." +
                          source["table"].GetString());
        if (!message.key) {
            out.problems += "envelope without key: " + *message.value + "\n";
            continue;
        }
        out.keys.insert(*message.key);
        rapidjson::Document key;
        key.Parse(message.key->c_str());
        if (key.HasParseError() || !key.IsObject() || !key.HasMember("id") || !key["id"].IsInt64())
            out.problems += "unexpected key: " + *message.key + "\n";
    }
    return out;
}

std::string joined(const std::set<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return "{" + out + "}";
}

// The keys {"id":N} of ids first..last plus `extra`.
std::set<std::string> id_keys(int first, int last, const std::vector<int>& extra = {}) {
    std::set<std::string> keys;
    for (int id = first; id <= last; ++id) keys.insert("{\"id\":" + std::to_string(id) + "}");
    for (const int id : extra) keys.insert("{\"id\":" + std::to_string(id) + "}");
    return keys;
}

// The topics this test's group stored offsets for in the destination, sorted.
std::vector<std::string> offset_topics(const TestEnv& env) {
    return query_column(env.dest_url(),
                        "SELECT DISTINCT topic COLLATE \"C\" FROM cdc.consumer_offsets WHERE "
                        "group_id = '" +
                            env.group() + "' ORDER BY 1");
}

bool same_rows(const TestEnv& env, const std::string& table) {
    return user_rows(env.source_url(), table) == user_rows(env.dest_url(), table);
}

std::string both_sides(const TestEnv& env, const std::string& table) {
    return "source " + table + ":\n" + lines(user_rows(env.source_url(), table)) +
           "destination:\n" + lines(user_rows(env.dest_url(), table));
}

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
    return count;
}

// High minus low watermark summed over a topic's partitions, through one client kept for
// polling (a fresh client per poll would spend its time connecting).
class MessageCounter {
public:
    explicit MessageCounter(const std::string& brokers) {
        std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
        std::string error;
        if (conf->set("bootstrap.servers", brokers, error) != RdKafka::Conf::CONF_OK)
            throw std::runtime_error(error);
        client_.reset(RdKafka::Producer::create(conf.get(), error));
        if (!client_) throw std::runtime_error("Kafka client: " + error);
    }

    std::int64_t messages(const std::string& topic, int partitions) {
        std::int64_t total = 0;
        for (int partition = 0; partition < partitions; ++partition) {
            std::int64_t low = 0, high = 0;
            const auto err = client_->query_watermark_offsets(topic, partition, &low, &high, 10000);
            if (err != RdKafka::ERR_NO_ERROR)
                throw std::runtime_error("watermarks of " + topic + ": " + RdKafka::err2str(err));
            total += high - low;
        }
        return total;
    }

private:
    std::unique_ptr<RdKafka::Producer> client_;
};

// Two tables in two schemas with their topics, captured with --table-topics.
void set_up_two_tables(TestEnv& env, int partitions) {
    exec(env.source_url(),
         "CREATE SCHEMA sales;"
         "CREATE TABLE public.a (id int PRIMARY KEY, v text);"
         "CREATE TABLE sales.b (id bigint PRIMARY KEY, note text)");
    create_topics({topic_of(env, "public.a"), topic_of(env, "sales.b")}, partitions);
    const auto setup = env.setup(with(
        {"--partitions", std::to_string(partitions), "--table", "public.a", "--table", "sales.b"},
        per_table(env)));
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
}

}  // namespace

TEST_CASE(
    "a topic per table: each table's changes on its own topic, none on --topic, a consumer of "
    "all applies everything") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(),
         "CREATE SCHEMA sales;"
         "CREATE TABLE public.a (id int PRIMARY KEY, v text);"
         "CREATE TABLE sales.b (id bigint PRIMARY KEY, note text);"
         "CREATE TABLE public.\"Odd Name\" (id int PRIMARY KEY)");
    const std::string topic_a = topic_of(env, "public.a");
    const std::string topic_b = topic_of(env, "sales.b");
    const std::string topic_odd = topic_of(env, "public.Odd_Name");
    create_topics({topic_a, topic_b, topic_odd}, 3);
    const auto setup = env.setup(
        with({"--table", "public.a", "--table", "sales.b", "--table", kOddTable}, per_table(env)));
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);

    // Disjoint keys per table, so a key on the wrong topic cannot pass for one of its own:
    // a 1..20, b 1001..1020, "Odd Name" 2001..2020; each gets updates, deletes and a
    // primary-key change (9 -> 109 and so on).
    exec(env.source_url(), R"sql(
        INSERT INTO public.a SELECT g, 'a' || g FROM generate_series(1, 20) g;
        INSERT INTO sales.b SELECT g, 'b' || g FROM generate_series(1001, 1020) g;
        INSERT INTO public."Odd Name" SELECT g FROM generate_series(2001, 2020) g;
    )sql");
    exec(env.source_url(), R"sql(
        UPDATE public.a SET v = 'updated' WHERE id <= 5;
        UPDATE sales.b SET note = 'updated' WHERE id <= 1005;
        DELETE FROM public.a WHERE id BETWEEN 6 AND 8;
        DELETE FROM sales.b WHERE id BETWEEN 1006 AND 1008;
        DELETE FROM public."Odd Name" WHERE id BETWEEN 2006 AND 2008;
        UPDATE public.a SET id = 109 WHERE id = 9;
        UPDATE sales.b SET id = 1109 WHERE id = 1009;
        UPDATE public."Odd Name" SET id = 2109 WHERE id = 2009;
    )sql");
    // A schema change of a alone: its marker goes to every partition of a's topic only.
    exec(env.source_url(),
         "ALTER TABLE public.a ADD COLUMN w int; INSERT INTO public.a VALUES (50, 'late', 7)");

    Program producer = env.producer(with({"--drain", "--retry-for", "10"}, per_table(env)));
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());

    struct Expected {
        std::string topic;
        std::string table;
        std::set<std::string> keys;
        std::size_t envelopes;  // 20 inserts, updates, 3 deletes, a key change as two
    };
    const std::vector<Expected> expected = {
        {topic_a, "public.a", id_keys(1, 20, {50, 109}), 20 + 5 + 3 + 2 + 1},
        {topic_b, "sales.b", id_keys(1001, 1020, {1109}), 20 + 5 + 3 + 2},
        {topic_odd, "public.Odd Name", id_keys(2001, 2020, {2109}), 20 + 3 + 2},
    };
    for (const auto& e : expected) {
        CAPTURE(e.topic);
        const TopicContent content = content_of(env, e.topic);
        CHECK_MESSAGE(content.problems.empty(), content.problems);
        CHECK_MESSAGE(content.tables == std::set<std::string>{e.table}, joined(content.tables));
        CHECK_MESSAGE(content.keys == e.keys, joined(content.keys));
        CHECK(content.messages - content.schema_change_partitions.size() == e.envelopes);
        if (e.table == "public.a") {
            CHECK(std::set<std::int32_t>(content.schema_change_partitions.begin(),
                                         content.schema_change_partitions.end()) ==
                  std::set<std::int32_t>{0, 1, 2});
            CHECK(content.schema_change_partitions.size() == 3);
            CHECK(content.schema_change_tables == std::set<std::string>{"public.a"});
        } else {
            CHECK(content.schema_change_partitions.empty());
        }
    }
    // --topic carries nothing with a topic per table.
    CHECK(read_all_messages(env.brokers(), env.topic()).empty());

    Program consumer =
        env.consumer(with({"--drain", "--retry-for", "10", "-X", "session.timeout.ms=6000",
                           "--schema-evolution", "add-columns"},
                          per_table(env)));
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
    for (const std::string table : {"public.a", "sales.b", kOddTable})
        CHECK_MESSAGE(same_rows(env, table), both_sides(env, table));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM public.a") == "18");
    CHECK(query_value(env.dest_url(), "SELECT w FROM public.a WHERE id = 50") == "7");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");
    const auto verify = env.verify(per_table(env));
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    CHECK(offset_topics(env) == std::vector<std::string>{topic_odd, topic_a, topic_b});
    for (const auto& e : expected) CHECK_MESSAGE(assigned_partitions(consumer, e.topic), e.topic);

    const auto status = env.verify(with(
        {"--status", "--brokers", env.brokers(), "--topic", env.topic(), "--group", env.group()},
        per_table(env)));
    INFO(status.log);
    CHECK(status.exit_code == 0);
    for (const auto& e : expected)
        CHECK(occurrences(status.out,
                          "consumer group " + env.group() + ", topic " + e.topic + ":\n") == 1);
    CHECK(occurrences(status.out, "consumer group ") == 3);
    CHECK(occurrences(status.out, ", lag 0\n") == 9);
    CHECK(occurrences(status.out, "total lag 0\n") == 1);
}

TEST_CASE("--subscribe takes exactly the listed or matching topics") {
    TestEnv env;
    INFO(env.logs());
    set_up_two_tables(env, 3);
    const std::string topic_a = topic_of(env, "public.a");
    const std::string topic_b = topic_of(env, "sales.b");
    exec(env.source_url(), R"sql(
        INSERT INTO public.a SELECT g, 'a' || g FROM generate_series(1, 30) g;
        INSERT INTO sales.b SELECT g, 'b' || g FROM generate_series(1, 30) g;
        UPDATE public.a SET v = 'u' WHERE id % 3 = 0;
        UPDATE sales.b SET note = 'u' WHERE id % 4 = 0;
        DELETE FROM public.a WHERE id > 25;
        DELETE FROM sales.b WHERE id > 27;
    )sql");

    // A list: a's topic only, without --table-topics.
    drain(env, {"--subscribe", topic_a});
    CHECK_MESSAGE(same_rows(env, "public.a"), both_sides(env, "public.a"));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM public.a") == "25");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM sales.b") == "0");
    CHECK(offset_topics(env) == std::vector<std::string>{topic_a});

    // A pattern, same group: b's topic only (a's offsets stay where they were).
    const auto a_offsets =
        query_column(env.dest_url(),
                     "SELECT partition || ':' || next_offset FROM cdc.consumer_offsets "
                     "WHERE topic = '" +
                         topic_a + "' ORDER BY partition");
    Program consumer =
        env.consumer({"--drain", "--retry-for", "10", "-X", "session.timeout.ms=6000",
                      "--subscribe", "^" + env.topic() + "\\.sales\\."});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
    CHECK_MESSAGE(same_rows(env, "sales.b"), both_sides(env, "sales.b"));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM sales.b") == "27");
    CHECK(assigned_partitions(consumer, topic_b));
    CHECK_FALSE(assigned_partitions(consumer, topic_a));
    CHECK(offset_topics(env) == std::vector<std::string>{topic_a, topic_b});
    CHECK(query_column(env.dest_url(),
                       "SELECT partition || ':' || next_offset FROM cdc.consumer_offsets "
                       "WHERE topic = '" +
                           topic_a + "' ORDER BY partition") == a_offsets);
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
}

TEST_CASE("a table captured later is picked up by a running consumer subscribed by pattern") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(), "CREATE TABLE public.a (id int PRIMARY KEY, v text)");
    const std::string topic_a = topic_of(env, "public.a");
    const std::string topic_c = topic_of(env, "public.c");
    create_topics({topic_a}, 3);
    const auto setup = env.setup(with({"--table", "public.a"}, per_table(env)));
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);

    Program producer = env.producer(per_table(env));
    Program consumer = env.consumer(with(kQuickRejoin, per_table(env)));
    exec(env.source_url(), "INSERT INTO public.a SELECT g, 'a' || g FROM generate_series(1, 50) g");
    const auto first = wait_until_replicated(env, "public.a", 60s);
    REQUIRE_MESSAGE(first.empty(), first);
    REQUIRE(assigned_partitions(consumer, topic_a));
    REQUIRE_FALSE(consumer.logged("changed; subscribing to"));

    // A new table with its own topic while both run; neither is restarted.
    exec(env.source_url(), "CREATE TABLE public.c (id int PRIMARY KEY, n int)");
    create_topics({topic_c}, 3);
    const auto later = env.setup(with({"--table", "public.c"}, per_table(env)));
    REQUIRE_MESSAGE(later.exit_code == 0, later.log);
    exec(env.source_url(),
         "INSERT INTO public.c SELECT g, g * 10 FROM generate_series(1, 40) g;"
         "UPDATE public.c SET n = -1 WHERE id <= 10; DELETE FROM public.c WHERE id > 35;"
         "INSERT INTO public.a SELECT g, 'more' FROM generate_series(51, 60) g");
    const auto picked_up = wait_until_replicated(env, "public.c", 60s);
    CHECK_MESSAGE(picked_up.empty(), picked_up);
    const auto still = wait_until_replicated(env, "public.a", 30s);
    CHECK_MESSAGE(still.empty(), still);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM public.c") == "35");
    CHECK(consumer.logged("topics matching ^" + env.topic()));
    CHECK(times_logged(consumer, "changed; subscribing to 2 topics") == 1);
    CHECK(assigned_partitions(consumer, topic_c));
    // c's changes went to c's topic, none of a's with them.
    const TopicContent content = content_of(env, topic_c);
    CHECK_MESSAGE(content.problems.empty(), content.problems);
    CHECK(content.tables == std::set<std::string>{"public.c"});
    CHECK(content.keys == id_keys(1, 40));
    CHECK(content_of(env, topic_a).tables == std::set<std::string>{"public.a"});

    CHECK_MESSAGE(producer.stop() == 0, producer.log());
    CHECK_MESSAGE(consumer.stop() == 0, consumer.log());
    CHECK(offset_topics(env) == std::vector<std::string>{topic_a, topic_c});
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
}

namespace {

// The body of the kill test; `figures` (messages on each topic at the kill and after) are
// printed by the test case, outside the INFO scope that attaches every program's log.
void kill_producer_mid_batch(std::string& figures) {
    constexpr int kRows = 20000;
    constexpr int kPartitions = 6;  // the dev broker keeps about 5 MB per partition
    TestEnv env;
    INFO(env.logs());
    set_up_two_tables(env, kPartitions);
    const std::string topic_a = topic_of(env, "public.a");
    const std::string topic_b = topic_of(env, "sales.b");

    // One transaction: a's rows first in the log, then b's; one snapshot batch of the
    // producer covers both topics.
    std::string txid;
    {
        pqxx::connection conn(env.source_url());
        pqxx::work tx(conn);
        pgtrail::pq::exec0(tx,
                           "INSERT INTO public.a SELECT g, md5(g::text) FROM generate_series(1, " +
                               std::to_string(kRows) + ") g");
        pgtrail::pq::exec0(tx,
                           "INSERT INTO sales.b SELECT g, md5(g::text) FROM generate_series(1, " +
                               std::to_string(kRows) + ") g");
        txid = pgtrail::pq::exec1(tx, "SELECT pg_current_xact_id()::text")[0].as<std::string>();
        tx.commit();
    }
    const std::string published = "SELECT coalesce(pg_visible_in_snapshot('" + txid +
                                  "'::xid8, snapshot), false) FROM cdc.producer_position";
    REQUIRE(query_value(env.source_url(), published) == "f");

    MessageCounter counter(env.brokers());
    std::int64_t a_at_kill = 0;
    std::int64_t b_at_kill = 0;
    {
        // Small produce requests, each answered late: publishing the batch takes seconds,
        // so the kill lands while some of it is confirmed and the rest is not.
        const BrokerDelay slow(services().broker, 20ms);
        Program producer = env.producer(
            with({"--batch-size", "500", "-X", "batch.num.messages=50"}, per_table(env)));
        REQUIRE_MESSAGE(eventually([&] { return counter.messages(topic_a, kPartitions) > 0; }, 60s),
                        producer.log());
        REQUIRE_MESSAGE(producer.running(), producer.log());
        REQUIRE_MESSAGE(query_value(env.source_url(), published) == "f", producer.log());
        REQUIRE(producer.kill() == kSigkill);
        // The batch was not recorded: it was killed before Kafka confirmed all of it.
        REQUIRE_MESSAGE(query_value(env.source_url(), published) == "f", producer.log());
        a_at_kill = counter.messages(topic_a, kPartitions);
        b_at_kill = counter.messages(topic_b, kPartitions);
        figures += "at the kill: " + std::to_string(a_at_kill) + " messages on " + topic_a + ", " +
                   std::to_string(b_at_kill) + " on " + topic_b + "; ";
        // Truly mid-batch: some changes had not reached Kafka yet.
        REQUIRE_MESSAGE(a_at_kill + b_at_kill < 2 * kRows, producer.log());
    }

    Program restarted = env.producer(with({"--drain", "--retry-for", "10"}, per_table(env)));
    REQUIRE_MESSAGE(restarted.wait(120s) == 0, restarted.log());
    CHECK(query_value(env.source_url(), published) == "t");

    const TopicContent a = content_of(env, topic_a);
    const TopicContent b = content_of(env, topic_b);
    CHECK_MESSAGE(a.problems.empty(), a.problems);
    CHECK_MESSAGE(b.problems.empty(), b.problems);
    CHECK(a.tables == std::set<std::string>{"public.a"});
    CHECK(b.tables == std::set<std::string>{"sales.b"});
    // Every key of each table on its topic (republished ones twice, which the guards absorb).
    CHECK(a.keys == id_keys(1, kRows));
    CHECK(b.keys == id_keys(1, kRows));
    CHECK(a.messages >= static_cast<std::size_t>(kRows));
    CHECK(b.messages >= static_cast<std::size_t>(kRows));
    CHECK(a.messages > static_cast<std::size_t>(a_at_kill));
    CHECK(b.messages > static_cast<std::size_t>(b_at_kill));
    figures +=
        "after the restart: " + std::to_string(a.messages) + " and " + std::to_string(b.messages);

    Program consumer = env.consumer(
        with({"--drain", "--retry-for", "10", "-X", "session.timeout.ms=6000"}, per_table(env)));
    REQUIRE_MESSAGE(consumer.wait(120s) == 0, consumer.log());
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM public.a") == std::to_string(kRows));
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM sales.b") == std::to_string(kRows));
    const auto verify = env.verify(per_table(env), 120s);
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");
}

}  // namespace

TEST_CASE(
    "kill -9 of the producer mid-batch: every table's topic gets all of its changes, none "
    "skipped") {
    std::string figures;
    kill_producer_mid_batch(figures);
    MESSAGE(figures);
}

TEST_CASE("bad topic settings are refused with exit 2 and one line") {
    TestEnv env;
    INFO(env.logs());
    const Args kafka = {"--brokers", env.brokers(), "--topic", env.topic()};
    const Args setup_args = with({"--source", env.source_url(), "--dest", env.dest_url()}, kafka);
    const Args producer_args = with({"--source", env.source_url()}, kafka);
    const Args consumer_args = with({"--dest", env.dest_url(), "--group", env.group()}, kafka);
    const Args status_args = with({"--source", env.source_url(), "--dest", env.dest_url(),
                                   "--status", "--group", env.group()},
                                  kafka);

    struct Bad {
        std::string what;
        const char* binary;
        Args args;
        std::vector<std::string> mentions;  // all in the one line
    };
    std::vector<Bad> calls;
    const std::vector<std::pair<std::string, std::string>> templates = {
        {"x.{schema}", "{table}"},                   // no {table}
        {"a/{table}", "a/{table}"},                  // '/' cannot be in a topic name
        {"x.{db}.{table}", "{schema} and {table}"},  // no such field
    };
    for (const auto& [tmpl, mention] : templates) {
        const Args flag = {"--table-topics", tmpl};
        calls.push_back({"db_setup --table-topics " + tmpl,
                         kDbSetup,
                         with(setup_args, flag),
                         {"--table-topics", mention}});
        calls.push_back({"producer --table-topics " + tmpl,
                         kProducer,
                         with(producer_args, flag),
                         {"--table-topics", mention}});
        calls.push_back({"consumer --table-topics " + tmpl,
                         kConsumer,
                         with(consumer_args, flag),
                         {"--table-topics", mention}});
        calls.push_back({"db_verify --table-topics " + tmpl,
                         kDbVerify,
                         with({"--source", env.source_url(), "--dest", env.dest_url()}, flag),
                         {"--table-topics", mention}});
    }
    calls.push_back({"consumer --subscribe ^((",
                     kConsumer,
                     with(consumer_args, {"--subscribe", "^(("}),
                     {"--subscribe", "^(("}});
    calls.push_back({"consumer --subscribe the dead-letter topic",
                     kConsumer,
                     with(consumer_args, {"--subscribe", env.dlq_topic()}),
                     {"--subscribe", env.dlq_topic(), "dead-letter"}});
    calls.push_back({"consumer --subscribe a list with the dead-letter topic",
                     kConsumer,
                     with(consumer_args, {"--subscribe", env.topic() + "," + env.dlq_topic()}),
                     {"--subscribe", env.dlq_topic(), "dead-letter"}});

    SUBCASE("flags refused before any work") {
        for (const auto& call : calls) {
            CAPTURE(call.what);
            const auto result = env.run(call.binary, call.args, 30s);
            INFO(result.log);
            CHECK(result.exit_code == 2);
            const auto lines = output_lines(result.err);
            CHECK(lines.size() == 1);
            REQUIRE_FALSE(lines.empty());
            for (const auto& mention : call.mentions)
                CHECK_MESSAGE(lines.back().find(mention) != std::string::npos, mention);
        }
    }

    SUBCASE("db_verify --status with a bad template") {
        capture_table(env, "CREATE TABLE public.items (id int PRIMARY KEY)", "public.items");
        const auto result =
            env.run(kDbVerify, with(status_args, {"--table-topics", "x.{schema}"}), 30s);
        INFO(result.log);
        CHECK(result.exit_code == 2);
        CHECK(result.out.empty());  // refused before it reports anything
        const auto lines = output_lines(result.err);
        CHECK(lines.size() == 1);
        REQUIRE_FALSE(lines.empty());
        CHECK(lines.back().find("--table-topics") != std::string::npos);
    }

    SUBCASE("a pattern that matches no topic") {
        capture_table(env, "CREATE TABLE public.items (id int PRIMARY KEY)", "public.items");
        const std::string pattern = "^nowhere_" + env.topic() + "\\.";
        const auto result =
            env.run(kConsumer, with(consumer_args, {"--drain", "--subscribe", pattern}), 30s);
        INFO(result.log);
        CHECK(result.exit_code == 2);
        const auto lines = output_lines(result.err);
        CHECK(lines.size() == 1);
        REQUIRE_FALSE(lines.empty());
        CHECK(lines.back().find("no Kafka topic matches " + pattern) != std::string::npos);
    }

    SUBCASE("a captured table whose topic was never created") {
        // Captured for --topic; the producer is then asked for a topic per table.
        capture_table(env, "CREATE TABLE public.items (id int PRIMARY KEY)", "public.items");
        exec(env.source_url(), "INSERT INTO public.items VALUES (1), (2)");
        const std::string missing = "nowhere_" + env.topic() + ".items";
        const BrokerRefusingTopic broker("", missing, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
        const auto result = env.run(
            kProducer,
            {"--source", env.source_url(), "--brokers", broker.bootstraps(), "--topic", env.topic(),
             "--drain", "--table-topics", "nowhere_" + env.topic() + ".{table}"},
            60s);
        INFO(result.log);
        CHECK(result.exit_code == 2);
        const auto lines = output_lines(result.err);
        REQUIRE_FALSE(lines.empty());
        CHECK(lines.back().find("Kafka topic " + missing + " does not exist") != std::string::npos);
        // Nothing was recorded as published: the rows wait in the log.
        CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "2");
        CHECK(query_value(env.source_url(), "SELECT snapshot IS NULL FROM cdc.producer_position") ==
              "t");
    }
}
