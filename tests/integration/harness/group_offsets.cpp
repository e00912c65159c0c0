#include "harness/group_offsets.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace pgtrail::it {

std::map<std::int32_t, std::int64_t> group_committed_offsets(const std::string& brokers,
                                                             const std::string& group,
                                                             const std::string& topic,
                                                             int partitions) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    if (conf->set("bootstrap.servers", brokers, err) != RdKafka::Conf::CONF_OK ||
        conf->set("group.id", group, err) != RdKafka::Conf::CONF_OK)
        throw std::runtime_error(err);
    // It never subscribes, so it never joins the group it reads.
    std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!reader) throw std::runtime_error("consumer: " + err);
    std::vector<RdKafka::TopicPartition*> wanted;
    for (int p = 0; p < partitions; ++p)
        wanted.push_back(RdKafka::TopicPartition::create(topic, p));
    const RdKafka::ErrorCode code = reader->committed(wanted, 10000);
    std::map<std::int32_t, std::int64_t> out;
    for (const auto* partition : wanted)
        if (partition->err() == RdKafka::ERR_NO_ERROR && partition->offset() >= 0)
            out[partition->partition()] = partition->offset();
    RdKafka::TopicPartition::destroy(wanted);
    reader->close();
    if (code != RdKafka::ERR_NO_ERROR)
        throw std::runtime_error("OffsetFetch for group " + group + ": " + RdKafka::err2str(code));
    return out;
}

}  // namespace pgtrail::it
