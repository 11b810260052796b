#include "rebuild/log_reader.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <stdexcept>

#include "crm/common/crypto.hpp"

namespace crm::analytics::rebuild {

namespace {
using PartitionKey = std::pair<std::string, int>;
}

struct LogReader::Impl {
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;
    std::map<PartitionKey, int64_t> next;  // next offset to read per partition (absent: from the beginning)
};

LogReader::LogReader(std::string brokers, std::vector<std::string> topics, std::map<std::string, std::string> kafka)
    : topics_(std::move(topics)), impl_(std::make_unique<Impl>()) {
    std::map<std::string, std::string> props{
        {"bootstrap.servers", brokers},
        {"group.id", "crm-analytics-rebuild-" + common::NewUuid()},  // required by the client; never joined
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "true"},
        {"isolation.level", "read_committed"},
    };
    for (const auto& [k, v] : kafka) props[k] = v;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [k, v] : props) {
        if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error("Kafka setting " + k + ": " + err);
    }
    impl_->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!impl_->consumer) throw std::runtime_error("cannot create the rebuild's Kafka consumer: " + err);
}

LogReader::~LogReader() {
    if (impl_ && impl_->consumer) impl_->consumer->close();
}

int64_t LogReader::ReadToEnd(const std::function<void(const LogMessage&)>& fn, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto remaining_ms = [&] {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(left.count(), 10000)));
    };
    RdKafka::KafkaConsumer& c = *impl_->consumer;

    // The partitions and their ends now.
    std::map<PartitionKey, int64_t> end;
    for (const auto& topic : topics_) {
        std::string err;
        std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&c, topic, nullptr, err));
        if (!handle) throw std::runtime_error("topic handle " + topic + ": " + err);
        RdKafka::Metadata* raw = nullptr;
        const RdKafka::ErrorCode code = c.metadata(false, handle.get(), &raw, remaining_ms());
        std::unique_ptr<RdKafka::Metadata> md(raw);
        if (code != RdKafka::ERR_NO_ERROR) {
            throw std::runtime_error("metadata of " + topic + ": " + RdKafka::err2str(code));
        }
        for (const auto* t : *md->topics()) {
            if (t->topic() != topic || t->err() != RdKafka::ERR_NO_ERROR) continue;  // not created yet
            for (const auto* p : *t->partitions()) {
                int64_t low = 0, high = 0;
                const RdKafka::ErrorCode w = c.query_watermark_offsets(topic, p->id(), &low, &high, remaining_ms());
                if (w != RdKafka::ERR_NO_ERROR) {
                    throw std::runtime_error("watermarks of " + topic + ": " + RdKafka::err2str(w));
                }
                const PartitionKey key{topic, p->id()};
                auto it = impl_->next.find(key);
                if (it == impl_->next.end() || it->second < low) impl_->next[key] = low;  // retention moved on
                end[key] = high;
            }
        }
    }

    std::vector<RdKafka::TopicPartition*> assign;
    std::map<PartitionKey, bool> pending;
    for (const auto& [key, high] : end) {
        const int64_t from = impl_->next[key];
        if (from >= high) continue;
        assign.push_back(RdKafka::TopicPartition::create(key.first, key.second, from));
        pending[key] = true;
    }
    int64_t read = 0;
    if (assign.empty()) return read;
    RdKafka::ErrorCode code = c.assign(assign);
    RdKafka::TopicPartition::destroy(assign);
    if (code != RdKafka::ERR_NO_ERROR) throw std::runtime_error("assign: " + RdKafka::err2str(code));

    while (!pending.empty()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            c.unassign();
            throw std::runtime_error("reading the log did not finish in time");
        }
        std::unique_ptr<RdKafka::Message> msg(c.consume(200));
        const PartitionKey key{msg->topic_name(), msg->partition()};
        if (msg->err() == RdKafka::ERR_NO_ERROR) {
            if (!pending.count(key)) continue;
            const int64_t high = end[key];
            if (msg->offset() < high) {
                const std::string& topic = key.first;
                fn(LogMessage{topic, msg->partition(), msg->offset(), msg->payload(), msg->len()});
                ++read;
            }
            impl_->next[key] = std::min(msg->offset() + 1, high);
            if (msg->offset() + 1 >= high) pending.erase(key);
        } else if (msg->err() == RdKafka::ERR__PARTITION_EOF) {
            if (pending.count(key) && msg->offset() >= end[key]) {
                impl_->next[key] = end[key];
                pending.erase(key);
            }
        } else if (msg->err() != RdKafka::ERR__TIMED_OUT) {
            // Transient errors (e.g. a broker reconnect) are retried until the deadline; fatal ones end the rebuild.
            if (msg->err() == RdKafka::ERR__FATAL || msg->err() == RdKafka::ERR__UNKNOWN_PARTITION ||
                msg->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
                c.unassign();
                throw std::runtime_error("reading the log: " + msg->errstr());
            }
        }
    }
    c.unassign();
    return read;
}

}  // namespace crm::analytics::rebuild
