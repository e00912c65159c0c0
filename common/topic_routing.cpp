#include "common/topic_routing.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/kafka_topic.hpp"

namespace pgtrail {
namespace {

constexpr std::size_t kMaxTopicLength = 249;  // Kafka's limit
constexpr std::string_view kSchemaField = "{schema}";
constexpr std::string_view kTableField = "{table}";

bool topic_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

std::string topic_safe(std::string_view name) {
    std::string out(name);
    std::replace_if(
        out.begin(), out.end(), [](char c) { return !topic_char(c); }, '_');
    return out;
}

// The template split into literal text and fields, calling `literal(text)` and
// `field(name)` in order. Throws UsageError for what the class comment lists.
template <typename Literal, typename Field>
void walk_template(std::string_view tmpl, Literal literal, Field field) {
    bool has_table = false;
    std::size_t begin = 0;
    while (begin < tmpl.size()) {
        const std::size_t open = tmpl.find('{', begin);
        const std::string_view text = tmpl.substr(begin, open - begin);
        if (!std::all_of(text.begin(), text.end(), topic_char))
            throw UsageError("--table-topics " + std::string(tmpl) +
                             ": a topic name holds only letters, digits, '.', '_' and '-' "
                             "besides {schema} and {table}");
        if (!text.empty()) literal(text);
        if (open == std::string_view::npos) break;
        const std::string_view rest = tmpl.substr(open);
        if (rest.starts_with(kSchemaField)) {
            field(kSchemaField);
            begin = open + kSchemaField.size();
        } else if (rest.starts_with(kTableField)) {
            field(kTableField);
            has_table = true;
            begin = open + kTableField.size();
        } else {
            throw UsageError("--table-topics " + std::string(tmpl) +
                             ": the only fields are {schema} and {table}");
        }
    }
    if (!has_table)
        throw UsageError("--table-topics " + std::string(tmpl) +
                         ": the template needs {table}, e.g. cdc.{schema}.{table}");
}

std::string regex_escaped(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '.') out += '\\';
        out += c;
    }
    return out;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::size_t begin = 0;
    while (begin <= text.size()) {
        const std::size_t comma = std::min(text.find(',', begin), text.size());
        std::string item = text.substr(begin, comma - begin);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) out.push_back(item);
        begin = comma + 1;
    }
    return out;
}

}  // namespace

TopicRouting::TopicRouting(const KafkaSettings& settings)
    : single_(settings.topic), template_(settings.table_topics) {
    if (per_table())
        walk_template(
            template_, [](std::string_view) {}, [](std::string_view) {});
}

std::string TopicRouting::topic_of(const TableName& table) const {
    if (!per_table()) return single_;
    std::string topic;
    walk_template(
        template_, [&](std::string_view text) { topic += text; },
        [&](std::string_view field) {
            topic += topic_safe(field == kSchemaField ? table.schema : table.name);
        });
    if (topic.size() > kMaxTopicLength)
        throw UsageError("table " + table.display() + ": its topic " + topic + " is longer than " +
                         std::to_string(kMaxTopicLength) + " characters; shorten --table-topics");
    return topic;
}

std::string TopicRouting::pattern() const {
    std::string out = "^";
    walk_template(
        template_, [&](std::string_view text) { out += regex_escaped(text); },
        [&](std::string_view) { out += "[A-Za-z0-9._-]+"; });
    return out + "$";
}

Subscription::Subscription(const KafkaSettings& settings)
    : dead_letters_(dead_letter_topic(settings.topic)) {
    const TopicRouting routing(settings);
    text_ = !settings.subscribe.empty() ? settings.subscribe
            : routing.per_table()       ? routing.pattern()
                                        : settings.topic;
    if (text_.starts_with('^')) {
        try {
            pattern_.emplace(text_, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            throw UsageError("--subscribe " + text_ + ": not a regular expression: " + e.what());
        }
        return;
    }
    listed_ = split_list(text_);
    if (listed_.empty()) throw UsageError("--subscribe names no topic");
    if (std::find(listed_.begin(), listed_.end(), dead_letters_) != listed_.end())
        throw UsageError("--subscribe " + text_ + " names the dead-letter topic " + dead_letters_ +
                         "; the consumer writes there, it does not read it");
    std::sort(listed_.begin(), listed_.end());
}

bool Subscription::matches(const std::string& topic) const {
    if (!pattern_) return std::find(listed_.begin(), listed_.end(), topic) != listed_.end();
    return topic != dead_letters_ && std::regex_search(topic, *pattern_);
}

std::vector<std::string> Subscription::topics(RdKafka::Handle& client,
                                              std::chrono::milliseconds timeout) const {
    if (!pattern_) return listed_;
    std::vector<std::string> matched;
    for (const std::string& topic : all_topics(client, timeout))
        if (topic != dead_letters_ && std::regex_search(topic, *pattern_)) matched.push_back(topic);
    if (matched.empty())
        throw UsageError("no Kafka topic matches " + text_ + ": run db_setup first");
    std::sort(matched.begin(), matched.end());
    return matched;
}

void check_topic_settings(const KafkaSettings& settings) {
    // Subscription builds a TopicRouting of the same settings, which checks the template.
    static_cast<void>(Subscription(settings));
}

}  // namespace pgtrail
