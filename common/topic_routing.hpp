#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "common/cli_options.hpp"
#include "common/table_catalog.hpp"

namespace pgtrail {

// Which topic carries a table's changes: every change on --topic, or with --table-topics
// a topic per table named by the template's {schema} and {table} (README "Topics").
class TopicRouting {
public:
    // Throws UsageError for a template without {table}, with another {…} or with characters
    // a topic name cannot hold.
    explicit TopicRouting(const KafkaSettings& settings);

    bool per_table() const { return !template_.empty(); }

    // A name's characters that a topic cannot hold become '_', as Debezium does, so two
    // tables may share a topic (the consumer tells them apart by the envelope). Throws
    // UsageError when the name is longer than Kafka allows.
    std::string topic_of(const TableName& table) const;

    // Matches every topic name the template can yield, and no other.
    std::string pattern() const;

private:
    std::string single_;
    std::string template_;
};

// The topics a consumer reads: --subscribe's comma-separated list, or its regular expression
// (a value starting with '^', ECMAScript syntax, searched in each topic name, as librdkafka
// does); without --subscribe, every topic --table-topics names, or else --topic. Never the
// dead-letter topic.
class Subscription {
public:
    // Throws UsageError for a pattern that does not compile or a list naming the
    // dead-letter topic.
    explicit Subscription(const KafkaSettings& settings);

    // The listed topics, or the existing topics the pattern matches now, sorted. Throws
    // UsageError when the pattern matches none, TransientError when no broker answers.
    std::vector<std::string> topics(RdKafka::Handle& client,
                                    std::chrono::milliseconds timeout) const;

    // Whether the subscription takes `topic`, as far as its name tells (a listed topic may
    // not exist).
    bool matches(const std::string& topic) const;

    bool is_pattern() const { return pattern_.has_value(); }
    const std::string& display() const { return text_; }

private:
    std::vector<std::string> listed_;
    std::optional<std::regex> pattern_;
    std::string dead_letters_;
    std::string text_;
};

// Refuses a bad --table-topics or --subscribe (UsageError); programs call it first, before a
// Kafka client logs its connection attempts or a database is asked anything.
void check_topic_settings(const KafkaSettings& settings);

}  // namespace pgtrail
