// Mock-cluster tests of the consumer runtime's Kafka side: librdkafka's built-in mock broker (test.mock.num.brokers)
// stands in for Kafka, and an in-memory store that remembers applied event ids stands in for crm_processed_events.
// The same guarantees against the real Kafka and PostgreSQL are shown in tests/integration/consumer_test.cpp.
#include <crm/common/v1/event.pb.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "crm/common/consumer.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"

using namespace crm::common;
using namespace std::chrono_literals;

namespace {

// One mock broker, owned by a producer handle that lives as long as the test.
class MockCluster {
  public:
    MockCluster() {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        REQUIRE(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err) == RD_KAFKA_CONF_OK);
        rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
        REQUIRE(rk_ != nullptr);
        cluster_ = rd_kafka_handle_mock_cluster(rk_);
        REQUIRE(cluster_ != nullptr);
        brokers_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    }
    ~MockCluster() { rd_kafka_destroy(rk_); }
    MockCluster(const MockCluster&) = delete;
    MockCluster& operator=(const MockCluster&) = delete;

    // A topic and its dead-letter topic.
    std::string Topic(int partitions) {
        const std::string name = "crm.mock." + HexEncode(RandomBytes(4)) + ".v1";
        REQUIRE(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
        REQUIRE(rd_kafka_mock_topic_create(cluster_, (name + ".dlq").c_str(), 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
        return name;
    }
    const std::string& brokers() const { return brokers_; }

  private:
    rd_kafka_t* rk_ = nullptr;
    rd_kafka_mock_cluster_t* cluster_ = nullptr;
    std::string brokers_;
};

std::string Envelope(const std::string& event_id, const std::string& tenant = "acme") {
    v1::EventEnvelope env;
    env.set_event_id(event_id);
    env.set_tenant_id(tenant);
    env.set_event_type("crm.test.v1.Happened");
    env.set_source("test");
    env.set_aggregate_id(NewUuid());
    return env.SerializeAsString();
}

struct Outgoing {
    Outgoing(std::string v, std::string k, int p = RdKafka::Topic::PARTITION_UA, KafkaHeaders h = {})
        : value(std::move(v)), key(std::move(k)), partition(p), headers(std::move(h)) {}
    std::string value;
    std::string key;
    int partition;
    KafkaHeaders headers;
};

void Produce(const std::string& brokers, const std::string& topic, const std::vector<Outgoing>& messages) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", brokers, err);
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    REQUIRE(p);
    for (const auto& m : messages) {
        RdKafka::Headers* hs = RdKafka::Headers::create();
        for (const auto& [k, v] : m.headers) hs->add(k, v);
        REQUIRE(p->produce(topic, m.partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(m.value.data()),
                           m.value.size(), m.key.data(), m.key.size(), 0, hs, nullptr) == RdKafka::ERR_NO_ERROR);
    }
    REQUIRE(p->flush(10000) == RdKafka::ERR_NO_ERROR);
}

struct Incoming {
    std::string value, key;
    int partition;
    int64_t offset;
    KafkaHeaders headers;
};

// Everything in the topic, read from the beginning until `count` messages arrived or the timeout passed.
std::vector<Incoming> ReadAll(const std::string& brokers, const std::string& topic, int partitions, size_t count,
                              std::chrono::milliseconds timeout = 10s) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", brokers, err);
    conf->set("group.id", "reader-" + NewUuid(), err);
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    REQUIRE(c);
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p = 0; p < partitions; ++p) tps.push_back(RdKafka::TopicPartition::create(topic, p, 0));
    REQUIRE(c->assign(tps) == RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(tps);
    std::vector<Incoming> out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (out.size() < count && std::chrono::steady_clock::now() < until) {
        std::unique_ptr<RdKafka::Message> m(c->consume(100));
        if (m->err() != RdKafka::ERR_NO_ERROR) continue;
        Incoming in{std::string(static_cast<const char*>(m->payload()), m->len()),
                    m->key() ? *m->key() : "",
                    m->partition(),
                    m->offset(),
                    {}};
        if (auto* hs = m->headers()) {
            for (const auto& h : hs->get_all()) {
                in.headers.emplace_back(h.key(), std::string(static_cast<const char*>(h.value()), h.value_size()));
            }
        }
        out.push_back(std::move(in));
    }
    c->close();
    return out;
}

// Offsets the group committed, summed over the topic's partitions.
int64_t CommittedTotal(const std::string& brokers, const std::string& group, const std::string& topic, int partitions) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", brokers, err);
    conf->set("group.id", group, err);
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    REQUIRE(c);
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p = 0; p < partitions; ++p) tps.push_back(RdKafka::TopicPartition::create(topic, p));
    REQUIRE(c->committed(tps, 5000) == RdKafka::ERR_NO_ERROR);
    int64_t total = 0;
    for (const auto* tp : tps) total += std::max<int64_t>(0, tp->offset());
    RdKafka::TopicPartition::destroy(tps);
    c->close();
    return total;
}

// Stands in for crm_processed_events plus the handler's effect: applies each event id once.
class FakeStore {
  public:
    std::function<void(const ConsumedEvent&)> effect;  // may throw or block

    ApplyFn Apply() {
        return [this](const ConsumedEvent& ev) {
            {
                std::lock_guard lock(mutex_);
                ++calls_;
                if (applied_.count(ev.event_id())) return false;
            }
            if (effect) effect(ev);
            std::lock_guard lock(mutex_);
            applied_.insert(ev.event_id());
            order_.push_back(ev.event_id());
            changed_.notify_all();
            return true;
        };
    }
    bool WaitApplied(size_t n, std::chrono::milliseconds timeout = 20s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return applied_.size() >= n; });
    }
    size_t applied() {
        std::lock_guard lock(mutex_);
        return applied_.size();
    }
    bool has(const std::string& id) {
        std::lock_guard lock(mutex_);
        return applied_.count(id) > 0;
    }
    int calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    std::vector<std::string> order() {
        std::lock_guard lock(mutex_);
        return order_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::set<std::string> applied_;
    std::vector<std::string> order_;
    int calls_ = 0;
};

// Sum of a metric's samples whose labels include `labels`.
double MetricValue(Metrics& metrics, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    double total = 0;
    for (const auto& family : metrics.registry().Collect()) {
        if (family.name != name) continue;
        for (const auto& m : family.metric) {
            bool match = true;
            for (const auto& [k, v] : labels) {
                match = match && std::any_of(m.label.begin(), m.label.end(),
                                             [&](const auto& l) { return l.name == k && l.value == v; });
            }
            if (!match) continue;
            if (family.type == prometheus::MetricType::Counter) total += m.counter.value;
            if (family.type == prometheus::MetricType::Gauge) total += m.gauge.value;
            if (family.type == prometheus::MetricType::Histogram) {
                total += static_cast<double>(m.histogram.sample_count);
            }
        }
    }
    return total;
}

ConsumerSettings Fast(const MockCluster& cluster, const std::string& topic, const std::string& group) {
    ConsumerSettings s;
    s.brokers = cluster.brokers();
    s.topics = {topic};
    s.group_id = group;
    s.poll_timeout = 50ms;
    s.commit_interval = 100ms;
    s.retry_backoff = 10ms;
    s.retry_backoff_max = 50ms;
    s.session_timeout = 6000ms;
    s.heartbeat_interval = 200ms;
    s.max_poll_interval = 10000ms;
    s.lag_interval = 100ms;
    s.dlq_timeout = 5000ms;
    return s;
}

template <class F>
bool Eventually(F&& condition, std::chrono::milliseconds timeout = 20s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

}  // namespace

TEST_CASE("mock kafka: each event is applied once, duplicates are skipped, offsets are committed after",
          "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(2);
    std::vector<std::string> ids;
    std::vector<Outgoing> out;
    for (int i = 0; i < 10; ++i) {
        ids.push_back(NewUuid());
        out.push_back({Envelope(ids.back()), "agg" + std::to_string(i), i % 2});
    }
    out.push_back(out[2]);  // the same message delivered again
    out.push_back(out[7]);
    Produce(cluster.brokers(), topic, out);

    Metrics metrics("test");
    FakeStore store;
    const std::string group = "crm-test-" + NewUuid();
    {
        EventConsumer consumer(Fast(cluster, topic, group), metrics, store.Apply());
        consumer.Start();
        REQUIRE(store.WaitApplied(10));
        REQUIRE(Eventually([&] { return store.calls() == 12; }));
        REQUIRE(Eventually([&] {
            return MetricValue(metrics, "crm_kafka_consumer_lag") == 0 &&
                   MetricValue(metrics, "crm_kafka_skipped_total") == 2;
        }));
    }
    const std::map<std::string, std::string> labels{{"consumer", group}, {"topic", topic}};
    CHECK(MetricValue(metrics, "crm_kafka_consumed_total", labels) == 10);
    CHECK(MetricValue(metrics, "crm_kafka_skipped_total", labels) == 2);
    CHECK(MetricValue(metrics, "crm_kafka_failed_total", labels) == 0);
    CHECK(MetricValue(metrics, "crm_kafka_dead_lettered_total", labels) == 0);
    CHECK(MetricValue(metrics, "crm_kafka_handle_seconds", labels) == 12);
    CHECK(CommittedTotal(cluster.brokers(), group, topic, 2) == 12);
}

TEST_CASE("mock kafka: a restarted consumer resumes after the last committed offset", "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(1);
    const std::string group = "crm-test-" + NewUuid();
    Metrics metrics("test");
    std::vector<Outgoing> first, second;
    for (int i = 0; i < 5; ++i) first.push_back({Envelope(NewUuid()), "k"});
    for (int i = 0; i < 5; ++i) second.push_back({Envelope(NewUuid()), "k"});

    Produce(cluster.brokers(), topic, first);
    {
        FakeStore store;
        EventConsumer consumer(Fast(cluster, topic, group), metrics, store.Apply());
        consumer.Start();
        REQUIRE(store.WaitApplied(5));
        consumer.Stop();
    }
    CHECK(CommittedTotal(cluster.brokers(), group, topic, 1) == 5);

    Produce(cluster.brokers(), topic, second);
    FakeStore fresh;  // would apply (not skip) anything delivered again
    EventConsumer consumer(Fast(cluster, topic, group), metrics, fresh.Apply());
    consumer.Start();
    REQUIRE(fresh.WaitApplied(5));
    std::this_thread::sleep_for(500ms);
    consumer.Stop();
    CHECK(fresh.calls() == 5);
    for (const auto& m : second) {
        v1::EventEnvelope env;
        REQUIRE(env.ParseFromString(m.value));
        CHECK(fresh.has(env.event_id()));
    }
    CHECK(CommittedTotal(cluster.brokers(), group, topic, 1) == 10);
}

TEST_CASE("mock kafka: a poison message goes to the DLQ after max_attempts and the partition moves on",
          "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(1);
    const std::string group = "crm-test-" + NewUuid();
    const std::string poison = NewUuid(), after1 = NewUuid(), after2 = NewUuid(), before = NewUuid();
    const KafkaHeaders original{{"ce_id", poison}, {"crm_tenant", "acme"}};
    const std::string poison_value = Envelope(poison);
    Produce(cluster.brokers(), topic,
            {{Envelope(before), "k1"},
             {poison_value, "k2", 0, original},
             {Envelope(after1), "k3"},
             {Envelope(after2), "k4"}});

    Metrics metrics("test");
    FakeStore store;
    store.effect = [&](const ConsumedEvent& ev) {
        if (ev.event_id() == poison) throw std::runtime_error("cannot apply: field x out of range");
    };
    ConsumerSettings s = Fast(cluster, topic, group);
    s.max_attempts = 3;
    EventConsumer consumer(s, metrics, store.Apply());
    consumer.Start();
    REQUIRE(store.WaitApplied(3));
    REQUIRE(Eventually([&] { return CommittedTotal(cluster.brokers(), group, topic, 1) == 4; }));
    consumer.Stop();

    CHECK(store.order() == std::vector<std::string>{before, after1, after2});
    const std::map<std::string, std::string> labels{{"topic", topic}};
    CHECK(MetricValue(metrics, "crm_kafka_failed_total", labels) == 3);
    CHECK(MetricValue(metrics, "crm_kafka_dead_lettered_total", labels) == 1);
    CHECK(MetricValue(metrics, "crm_kafka_consumed_total", labels) == 3);

    const auto dlq = ReadAll(cluster.brokers(), topic + ".dlq", 1, 1);
    REQUIRE(dlq.size() == 1);
    CHECK(dlq[0].value == poison_value);
    CHECK(dlq[0].key == "k2");
    const KafkaHeaders expected =
        DeadLetterHeaders(original, {"cannot apply: field x out of range", 3, group, topic, 0, 1});
    CHECK(dlq[0].headers == expected);
}

TEST_CASE("mock kafka: an unusable envelope goes to the DLQ at once", "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(1);
    const std::string group = "crm-test-" + NewUuid();
    const std::string good = NewUuid();
    Produce(cluster.brokers(), topic,
            {{std::string("\xff\xff\xff\xff garbage", 12), "k1"},
             {Envelope(NewUuid(), ""), "k2"},  // no tenant
             {Envelope("not-a-uuid"), "k3"},
             {Envelope(good), "k4"}});
    Metrics metrics("test");
    FakeStore store;
    EventConsumer consumer(Fast(cluster, topic, group), metrics, store.Apply());
    consumer.Start();
    REQUIRE(store.WaitApplied(1));
    REQUIRE(Eventually([&] { return CommittedTotal(cluster.brokers(), group, topic, 1) == 4; }));
    consumer.Stop();
    CHECK(store.calls() == 1);  // the handler never saw the unusable ones
    CHECK(store.has(good));
    CHECK(MetricValue(metrics, "crm_kafka_dead_lettered_total") == 3);
    CHECK(MetricValue(metrics, "crm_kafka_failed_total") == 0);

    const auto dlq = ReadAll(cluster.brokers(), topic + ".dlq", 1, 3);
    REQUIRE(dlq.size() == 3);
    CHECK(dlq[0].value == std::string("\xff\xff\xff\xff garbage", 12));
    std::vector<std::string> errors;
    for (const auto& m : dlq) {
        for (const auto& [k, v] : m.headers) {
            if (k == "crm_dlq_error") errors.push_back(v);
            if (k == "crm_dlq_attempts") CHECK(v == "0");
        }
    }
    CHECK(errors == std::vector<std::string>{"envelope cannot be parsed", "tenant_id is missing or invalid",
                                             "event_id is not a UUID"});
}

TEST_CASE("mock kafka: PermanentEventError skips the remaining attempts", "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(1);
    const std::string group = "crm-test-" + NewUuid();
    const std::string bad = NewUuid(), good = NewUuid();
    Produce(cluster.brokers(), topic, {{Envelope(bad), "k"}, {Envelope(good), "k"}});
    Metrics metrics("test");
    FakeStore store;
    store.effect = [&](const ConsumedEvent& ev) {
        if (ev.event_id() == bad) throw PermanentEventError("unknown payload version");
    };
    ConsumerSettings s = Fast(cluster, topic, group);
    s.max_attempts = 10;
    EventConsumer consumer(s, metrics, store.Apply());
    consumer.Start();
    REQUIRE(store.WaitApplied(1));
    REQUIRE(Eventually([&] { return MetricValue(metrics, "crm_kafka_dead_lettered_total") == 1; }));
    consumer.Stop();
    CHECK(MetricValue(metrics, "crm_kafka_failed_total") == 1);
    const auto dlq = ReadAll(cluster.brokers(), topic + ".dlq", 1, 1);
    REQUIRE(dlq.size() == 1);
    CHECK(std::find(dlq[0].headers.begin(), dlq[0].headers.end(),
                    std::pair<std::string, std::string>{"crm_dlq_attempts", "1"}) != dlq[0].headers.end());
}

TEST_CASE("mock kafka: an unavailable dependency is retried without using up attempts", "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(1);
    const std::string group = "crm-test-" + NewUuid();
    const std::string id = NewUuid();
    Produce(cluster.brokers(), topic, {{Envelope(id), "k"}});
    Metrics metrics("test");
    FakeStore store;
    std::atomic<int> outages{0};
    store.effect = [&](const ConsumedEvent&) {
        if (++outages <= 5) throw ApiError::Unavailable("database unavailable, retry later");
    };
    ConsumerSettings s = Fast(cluster, topic, group);
    s.max_attempts = 2;
    EventConsumer consumer(s, metrics, store.Apply());
    consumer.Start();
    REQUIRE(store.WaitApplied(1));
    consumer.Stop();
    CHECK(MetricValue(metrics, "crm_kafka_failed_total") == 5);
    CHECK(MetricValue(metrics, "crm_kafka_dead_lettered_total") == 0);
    CHECK(MetricValue(metrics, "crm_kafka_consumed_total") == 1);
}

TEST_CASE("mock kafka: Stop() finishes the message in hand and commits it", "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(1);
    const std::string group = "crm-test-" + NewUuid();
    std::vector<std::string> ids;
    std::vector<Outgoing> out;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(NewUuid());
        out.push_back({Envelope(ids.back()), "k"});
    }
    Produce(cluster.brokers(), topic, out);
    Metrics metrics("test");

    FakeStore store;
    std::mutex m;
    std::condition_variable cv;
    bool entered = false, release = false;
    store.effect = [&](const ConsumedEvent& ev) {
        if (ev.event_id() != ids[0]) return;
        std::unique_lock lock(m);
        entered = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
    };
    ConsumerSettings s = Fast(cluster, topic, group);
    s.commit_interval = 1h;  // only Stop() commits
    EventConsumer consumer(s, metrics, store.Apply());
    consumer.Start();
    {
        std::unique_lock lock(m);
        REQUIRE(cv.wait_for(lock, 20s, [&] { return entered; }));
    }
    std::thread stopper([&] { consumer.Stop(); });
    std::this_thread::sleep_for(300ms);  // Stop() is now waiting for the message in hand
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    stopper.join();
    CHECK(store.order() == std::vector<std::string>{ids[0]});
    CHECK(CommittedTotal(cluster.brokers(), group, topic, 1) == 1);

    FakeStore next;
    EventConsumer again(Fast(cluster, topic, group), metrics, next.Apply());
    again.Start();
    REQUIRE(next.WaitApplied(4));
    again.Stop();
    CHECK(next.order() == std::vector<std::string>(ids.begin() + 1, ids.end()));
}

// The mock coordinator refuses offset commits while a rebalance is in progress (real Kafka accepts them from the
// current generation, which is what the commit on revoke relies on), so here messages finished before the rebalance
// may be delivered again and show up as skips. tests/integration/consumer_test.cpp shows against the real broker
// that nothing is delivered twice.
TEST_CASE("mock kafka: two members share the partitions and each event is applied once across rebalances",
          "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(4);
    const std::string group = "crm-test-" + NewUuid();
    std::vector<Outgoing> out;
    for (int i = 0; i < 80; ++i) out.push_back({Envelope(NewUuid()), "k", i % 4});
    Produce(cluster.brokers(), topic, out);

    Metrics metrics_a("a"), metrics_b("b");
    FakeStore store;  // shared by both members, as the database is
    store.effect = [](const ConsumedEvent&) { std::this_thread::sleep_for(15ms); };
    EventConsumer a(Fast(cluster, topic, group), metrics_a, store.Apply());
    a.Start();
    REQUIRE(Eventually([&] { return store.applied() >= 10; }));
    EventConsumer b(Fast(cluster, topic, group), metrics_b, store.Apply());
    b.Start();
    REQUIRE(store.WaitApplied(80, 30s));
    a.Stop();  // b takes all partitions over
    b.Stop();
    const double applied_a = MetricValue(metrics_a, "crm_kafka_consumed_total");
    const double applied_b = MetricValue(metrics_b, "crm_kafka_consumed_total");
    CHECK(applied_a > 0);
    CHECK(applied_b > 0);
    CHECK(applied_a + applied_b == 80);
    CHECK(store.calls() ==
          80 + MetricValue(metrics_a, "crm_kafka_skipped_total") + MetricValue(metrics_b, "crm_kafka_skipped_total"));
}

TEST_CASE("mock kafka: consumer lag is reported per partition while behind", "[consumer][mock]") {
    MockCluster cluster;
    const std::string topic = cluster.Topic(1);
    const std::string group = "crm-test-" + NewUuid();
    std::vector<Outgoing> out;
    for (int i = 0; i < 40; ++i) out.push_back({Envelope(NewUuid()), "k"});
    Produce(cluster.brokers(), topic, out);
    Metrics metrics("test");
    FakeStore store;
    store.effect = [](const ConsumedEvent&) { std::this_thread::sleep_for(20ms); };
    EventConsumer consumer(Fast(cluster, topic, group), metrics, store.Apply());
    consumer.Start();
    const std::map<std::string, std::string> labels{{"topic", topic}, {"partition", "0"}};
    double max_lag = 0;
    REQUIRE(Eventually([&] {
        max_lag = std::max(max_lag, MetricValue(metrics, "crm_kafka_consumer_lag", labels));
        return store.applied() == 40;
    }));
    REQUIRE(Eventually([&] { return MetricValue(metrics, "crm_kafka_consumer_lag", labels) == 0; }));
    consumer.Stop();
    CHECK(max_lag > 10);
    CHECK(max_lag <= 40);
}
