#include "events.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <map>
#include <thread>

#include "crm/common/crypto.hpp"
#include "crm/common/personal_fields.hpp"
#include "harness.hpp"

namespace crm::test {
namespace {

std::unique_ptr<RdKafka::KafkaConsumer> MakeConsumer() {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", RequireEnv("CRM_TEST_KAFKA"), err);
    conf->set("group.id", "crm-test-tap-" + crm::common::NewUuid(), err);
    conf->set("enable.auto.commit", "false", err);
    conf->set("enable.partition.eof", "false", err);
    conf->set("session.timeout.ms", "6000", err);
    conf->set("heartbeat.interval.ms", "500", err);
    conf->set("log_level", "2", err);  // the outage tests stop the broker on purpose: no connection noise
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!c) FAIL("cannot create Kafka consumer: " << err);
    return c;
}

std::vector<int> Partitions(RdKafka::KafkaConsumer& consumer, const std::string& topic) {
    std::vector<int> out;
    std::string err;
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(&consumer, topic, nullptr, err));
    RdKafka::Metadata* md = nullptr;
    if (consumer.metadata(false, t.get(), &md, 5000) != RdKafka::ERR_NO_ERROR || md == nullptr) return out;
    for (const auto* tm : *md->topics()) {
        if (tm->topic() != topic || tm->err() != RdKafka::ERR_NO_ERROR) continue;
        for (const auto* pm : *tm->partitions()) out.push_back(pm->id());
    }
    delete md;
    return out;
}

}  // namespace

EventTap::EventTap(std::string topic) : topic_(std::move(topic)), consumer_(MakeConsumer()) {
    for (int p : Partitions(*consumer_, topic_)) {
        int64_t low = 0, high = 0;
        if (consumer_->query_watermark_offsets(topic_, p, &low, &high, 5000) == RdKafka::ERR_NO_ERROR) {
            start_[p] = high;
        }
    }
}

EventTap::~EventTap() {
    if (consumer_) consumer_->close();
}

void EventTap::Assign() {
    std::vector<int> parts;
    for (int attempt = 0; attempt < 50 && parts.empty(); ++attempt) {
        parts = Partitions(*consumer_, topic_);
        if (parts.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    REQUIRE_FALSE(parts.empty());
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p : parts) {
        auto it = start_.find(p);
        tps.push_back(RdKafka::TopicPartition::create(topic_, p, it == start_.end() ? 0 : it->second));
    }
    REQUIRE(consumer_->assign(tps) == RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(tps);
    assigned_ = true;
}

std::vector<ReceivedEvent> EventTap::WaitFor(const std::string& tenant, size_t count, std::chrono::milliseconds timeout,
                                             std::chrono::milliseconds settle) {
    if (!assigned_) Assign();
    std::vector<ReceivedEvent> out;
    const auto start = std::chrono::steady_clock::now();
    auto deadline = start + timeout;
    bool reached = false;
    while (std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> msg(consumer_->consume(200));
        if (msg && msg->err() == RdKafka::ERR_NO_ERROR) {
            ReceivedEvent ev;
            ev.partition = msg->partition();
            ev.offset = msg->offset();
            if (msg->key()) ev.key = *msg->key();
            if (auto* hs = msg->headers()) {
                for (const auto& h : hs->get_all()) {
                    ev.headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
                }
            }
            REQUIRE(ev.envelope.ParseFromArray(msg->payload(), static_cast<int>(msg->len())));
            const bool ignored =
                std::find(ignored_.begin(), ignored_.end(), ev.envelope.event_type()) != ignored_.end();
            if (ev.envelope.tenant_id() == tenant && !ignored && (!keep_ || keep_(ev.envelope))) {
                ev.sealed = ev.envelope;
                OpenPersonalFields(ev.envelope);
                out.push_back(std::move(ev));
            }
        }
        if (!reached && out.size() >= count) {
            reached = true;
            deadline = std::chrono::steady_clock::now() + settle;
        }
    }
    return out;
}

void ProduceEvents(const std::vector<OutgoingEvent>& events) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    REQUIRE(conf->set("bootstrap.servers", RequireEnv("CRM_TEST_KAFKA"), err) == RdKafka::Conf::CONF_OK);
    REQUIRE(conf->set("enable.idempotence", "true", err) == RdKafka::Conf::CONF_OK);
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    REQUIRE(p);
    for (const auto& e : events) {
        RdKafka::Headers* hs = RdKafka::Headers::create();
        hs->add("ce_id", e.event_id);
        hs->add("crm_tenant", e.tenant);
        const int32_t partition = e.partition < 0 ? RdKafka::Topic::PARTITION_UA : e.partition;
        REQUIRE(p->produce(e.topic, partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(e.value.data()),
                           e.value.size(), e.key.data(), e.key.size(), 0, hs, nullptr) == RdKafka::ERR_NO_ERROR);
    }
    REQUIRE(p->flush(30000) == RdKafka::ERR_NO_ERROR);
}

std::vector<std::string> ListTopics(const std::string& prefix) {
    auto consumer = MakeConsumer();
    RdKafka::Metadata* md = nullptr;
    REQUIRE(consumer->metadata(true, nullptr, &md, 10000) == RdKafka::ERR_NO_ERROR);
    std::vector<std::string> out;
    for (const auto* tm : *md->topics()) {
        if (tm->topic().rfind(prefix, 0) == 0) out.push_back(tm->topic());
    }
    delete md;
    consumer->close();
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<RawMessage> ReadTopicFromStart(const std::string& topic) {
    auto consumer = MakeConsumer();
    std::map<int, int64_t> end;  // partition -> offset to read up to (exclusive)
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p : Partitions(*consumer, topic)) {
        int64_t low = 0, high = 0;
        REQUIRE(consumer->query_watermark_offsets(topic, p, &low, &high, 10000) == RdKafka::ERR_NO_ERROR);
        if (high > low) {
            end[p] = high;
            tps.push_back(RdKafka::TopicPartition::create(topic, p, low));
        }
    }
    std::vector<RawMessage> out;
    if (tps.empty()) {
        consumer->close();
        return out;
    }
    REQUIRE(consumer->assign(tps) == RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(tps);
    std::map<int, int64_t> next;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto done = [&] {
        for (const auto& [p, high] : end) {
            if (next[p] < high) return false;
        }
        return true;
    };
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> msg(consumer->consume(200));
        if (!msg || msg->err() != RdKafka::ERR_NO_ERROR) continue;
        next[msg->partition()] = msg->offset() + 1;
        RawMessage m;
        m.topic = topic;
        m.partition = msg->partition();
        m.offset = msg->offset();
        m.payload.assign(static_cast<const char*>(msg->payload()), msg->len());
        m.parsed = m.envelope.ParseFromString(m.payload);
        out.push_back(std::move(m));
    }
    consumer->close();
    INFO("reading " << topic << " from the start");
    REQUIRE(done());
    return out;
}

int OpenPersonalFields(crm::common::v1::EventEnvelope& envelope) {
    static const std::shared_ptr<crm::common::privacy::SubjectKeySource> keys = [] {
        crm::common::privacy::RemoteKeySettings settings;
        for (const char* service :
             {"contacts", "leads", "sales", "marketing", "support", "fieldservice", "analytics"}) {
            std::string var = "CRM_TEST_";
            for (const char* c = service; *c != 0; ++c) var += static_cast<char>(std::toupper(*c));
            if (const char* addr = std::getenv(var.c_str()); addr != nullptr && *addr != 0) {
                settings.addresses[service] = addr;
            }
        }
        settings.internal_key = RequireEnv("CRM_INTERNAL_KEY");
        settings.caller_service = "tests";
        settings.cache_ttl = std::chrono::seconds(0);  // tests look right after an erasure
        return crm::common::privacy::MakeRemoteKeySource(std::move(settings));
    }();
    return crm::common::privacy::OpenEnvelope(envelope, *keys);
}

}  // namespace crm::test
