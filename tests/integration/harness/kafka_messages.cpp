#include "harness/kafka_messages.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <tuple>

namespace pgtrail::it {
namespace {

constexpr int kTimeoutMs = 10000;

std::unique_ptr<RdKafka::Conf> client_conf(const std::string& brokers) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    if (conf->set("bootstrap.servers", brokers, err) != RdKafka::Conf::CONF_OK) {
        throw std::runtime_error(err);
    }
    return conf;
}

void set(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
    std::string err;
    if (conf.set(name, value, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(err);
}

class DeliveryCounter : public RdKafka::DeliveryReportCb {
public:
    void dr_cb(RdKafka::Message& message) override {
        if (message.err() == RdKafka::ERR_NO_ERROR) {
            ++delivered;
        } else {
            first_error = first_error.empty() ? message.errstr() : first_error;
        }
    }
    std::size_t delivered = 0;
    std::string first_error;
};

}  // namespace

void produce_messages(const std::string& brokers, const std::string& topic,
                      const std::vector<KafkaMessage>& messages) {
    DeliveryCounter counter;
    auto conf = client_conf(brokers);
    std::string err;
    if (conf->set("dr_cb", &counter, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(err);
    // One in flight at a time keeps the partition order exactly the order of the vector.
    set(*conf, "max.in.flight.requests.per.connection", "1");
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
    if (!producer) throw std::runtime_error("producer: " + err);
    for (const auto& m : messages) {
        auto code = producer->produce(
            topic, m.partition, RdKafka::Producer::RK_MSG_COPY,
            m.value ? const_cast<char*>(m.value->data()) : nullptr, m.value ? m.value->size() : 0,
            m.key ? m.key->data() : nullptr, m.key ? m.key->size() : 0, 0, nullptr);
        if (code != RdKafka::ERR_NO_ERROR) {
            throw std::runtime_error("produce to " + topic + ": " + RdKafka::err2str(code));
        }
    }
    producer->flush(kTimeoutMs);
    if (counter.delivered != messages.size()) {
        throw std::runtime_error("delivered " + std::to_string(counter.delivered) + " of " +
                                 std::to_string(messages.size()) + " messages to " + topic + ": " +
                                 counter.first_error);
    }
}

std::optional<std::string> KafkaMessage::header(const std::string& name) const {
    for (const auto& [key, value] : headers)
        if (key == name) return value;
    return std::nullopt;
}

std::vector<KafkaMessage> read_all_messages(const std::string& brokers, const std::string& topic) {
    auto conf = client_conf(brokers);
    // Partitions are assigned by hand, so the group is never joined; librdkafka insists on one.
    set(*conf, "group.id", "pgtrail-it-reader");
    set(*conf, "enable.auto.commit", "false");
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer) throw std::runtime_error("consumer: " + err);

    std::unique_ptr<RdKafka::Topic> topic_handle(
        RdKafka::Topic::create(consumer.get(), topic, nullptr, err));
    RdKafka::Metadata* raw_metadata = nullptr;
    auto code = consumer->metadata(false, topic_handle.get(), &raw_metadata, kTimeoutMs);
    std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
    if (code != RdKafka::ERR_NO_ERROR || metadata->topics()->empty()) {
        throw std::runtime_error("metadata of " + topic + ": " + RdKafka::err2str(code));
    }

    std::map<int32_t, int64_t> end_of;  // partition -> high watermark still to reach
    std::vector<RdKafka::TopicPartition*> assignment;
    for (const auto* p : *metadata->topics()->front()->partitions()) {
        int64_t low = 0, high = 0;
        code = consumer->query_watermark_offsets(topic, p->id(), &low, &high, kTimeoutMs);
        if (code != RdKafka::ERR_NO_ERROR) {
            throw std::runtime_error("watermarks of " + topic + ": " + RdKafka::err2str(code));
        }
        if (high > low) {
            end_of[p->id()] = high;
            assignment.push_back(RdKafka::TopicPartition::create(topic, p->id(), low));
        }
    }
    code = consumer->assign(assignment);
    RdKafka::TopicPartition::destroy(assignment);
    if (code != RdKafka::ERR_NO_ERROR) throw std::runtime_error(RdKafka::err2str(code));

    std::vector<KafkaMessage> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
    while (!end_of.empty()) {
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("reading " + topic + " did not reach the high watermark");
        }
        std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
        if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
        if (m->err() != RdKafka::ERR_NO_ERROR) {
            throw std::runtime_error("reading " + topic + ": " + m->errstr());
        }
        KafkaMessage message{m->partition(), m->offset(), std::nullopt, std::nullopt, {}};
        if (m->key()) message.key = *m->key();
        if (m->payload()) message.value.emplace(static_cast<const char*>(m->payload()), m->len());
        if (RdKafka::Headers* headers = m->headers()) {
            for (const auto& h : headers->get_all())
                message.headers.emplace_back(
                    h.key(), h.value()
                                 ? std::string(static_cast<const char*>(h.value()), h.value_size())
                                 : std::string());
        }
        out.push_back(std::move(message));
        auto end = end_of.find(m->partition());
        if (end != end_of.end() && m->offset() + 1 >= end->second) end_of.erase(end);
    }
    consumer->close();
    std::sort(out.begin(), out.end(), [](const KafkaMessage& a, const KafkaMessage& b) {
        return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
    });
    return out;
}

}  // namespace pgtrail::it
