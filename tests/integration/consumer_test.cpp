// The consumer runtime against the real Kafka broker and the real contacts database (app role, row-level security):
// each event applied once (duplicates delivered, a consumer killed mid-batch), a poison message in <topic>.dlq while
// the rest are applied, offsets resumed after a restart and committed before a rebalance moves partitions.
//
// The handler's effect is a row in a scratch table that the test creates as the superuser (tenant-scoped by RLS like
// a real table, granted to the app role) and drops afterwards; production migrations stay free of test tables.
#include "crm/common/consumer.hpp"

#include <crm/common/v1/event.pb.h>
#include <google/protobuf/util/time_util.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "../support/events.hpp"
#include "../support/harness.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/metrics.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace cc = crm::common;

namespace {

// No commas: the name is passed on the command line as a Catch2 test spec.
constexpr char kChildTest[] = "consumer child: applies events and dies inside a transaction";

// A tenant-scoped table the handler writes its effect into; dropped when the test ends.
class ScratchTable {
  public:
    ScratchTable() : name_("crm_test_effects_" + cc::HexEncode(cc::RandomBytes(6))) {
        pqxx::connection app(RequireEnv("CRM_CONTACTS_DB_URL"));
        const std::string role = pqxx::nontransaction(app).exec1("SELECT current_user")[0].as<std::string>();
        pqxx::connection admin(RequireEnv("CRM_TEST_PG_CONTACTS_URL"));
        pqxx::work tx(admin);
        tx.exec("CREATE TABLE " + name_ +
                " (tenant_id text NOT NULL, event_id uuid NOT NULL, applied_by text NOT NULL)");
        tx.exec("ALTER TABLE " + name_ + " ENABLE ROW LEVEL SECURITY");
        tx.exec("ALTER TABLE " + name_ + " FORCE ROW LEVEL SECURITY");
        tx.exec("CREATE POLICY tenant_rows ON " + name_ +
                " USING (tenant_id = current_setting('crm.tenant_id', true))"
                " WITH CHECK (tenant_id = current_setting('crm.tenant_id', true))");
        tx.exec("GRANT SELECT, INSERT ON " + name_ + " TO " + tx.quote_name(role));
        tx.commit();
    }
    ~ScratchTable() {
        try {
            pqxx::connection admin(RequireEnv("CRM_TEST_PG_CONTACTS_URL"));
            pqxx::nontransaction(admin).exec("DROP TABLE IF EXISTS " + name_);
        } catch (const std::exception& e) {
            WARN("cannot drop " << name_ << ": " << e.what());
        }
    }
    ScratchTable(const ScratchTable&) = delete;
    ScratchTable& operator=(const ScratchTable&) = delete;
    const std::string& name() const { return name_; }

  private:
    std::string name_;
};

long Count(const std::string& sql) { return std::stol(QueryScalar("contacts", sql)); }

long ProcessedRows(const std::string& consumer) {
    return Count("SELECT count(*) FROM crm_processed_events WHERE consumer = '" + consumer + "'");
}

struct TestEvent {
    std::string id;
    std::string tenant;
    std::string key;
    std::string value;
    int partition = RdKafka::Topic::PARTITION_UA;
};

TestEvent MakeEvent(const std::string& tenant) {
    cc::v1::EventEnvelope env;
    env.set_event_id(cc::NewUuid());
    env.set_event_type("crm.test.v1.ProbeHappened");
    env.set_source("consumer-test");
    env.set_tenant_id(tenant);
    env.set_aggregate_type("probe");
    env.set_aggregate_id(cc::NewUuid());
    env.set_aggregate_version(1);
    *env.mutable_occurred_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
    return {env.event_id(), tenant, env.aggregate_id(), env.SerializeAsString(), RdKafka::Topic::PARTITION_UA};
}

std::vector<TestEvent> MakeEvents(const std::string& tenant, int n) {
    std::vector<TestEvent> out;
    for (int i = 0; i < n; ++i) out.push_back(MakeEvent(tenant));
    return out;
}

// Produces as the outbox relay does (idempotent producer, key = aggregate id, CloudEvents headers).
void Produce(const std::string& topic, const std::vector<TestEvent>& events) {
    std::vector<OutgoingEvent> out;
    for (const auto& e : events) out.push_back({topic, e.key, e.value, e.id, e.tenant, e.partition});
    ProduceEvents(out);
}

// Offsets the group committed on the topic, summed over its partitions.
int64_t CommittedTotal(const std::string& group, const std::string& topic) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", RequireEnv("CRM_TEST_KAFKA"), err);
    conf->set("group.id", group, err);
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    REQUIRE(c);
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p = 0; p < 3; ++p) tps.push_back(RdKafka::TopicPartition::create(topic, p));  // the broker makes 3
    REQUIRE(c->committed(tps, 10000) == RdKafka::ERR_NO_ERROR);
    int64_t total = 0;
    for (const auto* tp : tps) total += std::max<int64_t>(0, tp->offset());
    RdKafka::TopicPartition::destroy(tps);
    c->close();
    return total;
}

std::string UniqueTopic() { return "crm.test." + cc::HexEncode(cc::RandomBytes(5)) + ".v1"; }

cc::ConsumerSettings Settings(const std::string& topic, const std::string& group) {
    cc::ConsumerSettings s;
    s.brokers = RequireEnv("CRM_TEST_KAFKA");
    s.topics = {topic};
    s.group_id = group;
    s.poll_timeout = 100ms;
    s.commit_interval = 200ms;
    s.retry_backoff = 20ms;
    s.retry_backoff_max = 100ms;
    s.session_timeout = 6000ms;  // the broker's group.min.session.timeout.ms
    s.heartbeat_interval = 500ms;
    s.max_poll_interval = 30000ms;
    s.lag_interval = 500ms;
    return s;
}

cc::DbSettings DbFor() {
    cc::DbSettings s;
    s.url = RequireEnv("CRM_CONTACTS_DB_URL");
    s.pool_size = 2;
    return s;
}

// The handler every test uses: one effect row in the event's tenant transaction.
void WriteEffect(pqxx::work& tx, const std::string& table, const cc::ConsumedEvent& ev, const std::string& who) {
    tx.exec_params("INSERT INTO " + table + " (tenant_id, event_id, applied_by) VALUES ($1, $2, $3)", ev.tenant_id(),
                   ev.event_id(), who);
}

double MetricValue(cc::Metrics& metrics, const std::string& name) {
    double total = 0;
    for (const auto& family : metrics.registry().Collect()) {
        if (family.name != name) continue;
        for (const auto& m : family.metric) total += m.counter.value + m.gauge.value;
    }
    return total;
}

// Every event's effect exactly once: as many rows as distinct ids, and each expected id present.
void CheckAppliedOnce(const ScratchTable& table, const std::vector<TestEvent>& events) {
    CHECK(Count("SELECT count(*) FROM " + table.name()) == static_cast<long>(events.size()));
    CHECK(Count("SELECT count(DISTINCT event_id) FROM " + table.name()) == static_cast<long>(events.size()));
    for (const auto& e : events) {
        INFO("event " << e.id);
        CHECK(Count("SELECT count(*) FROM " + table.name() + " WHERE event_id = '" + e.id + "' AND tenant_id = '" +
                    e.tenant + "'") == 1);
    }
}

std::string SelfPath() {
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    REQUIRE(n > 0);
    return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

TEST_CASE("consumer: each event is applied once in its tenant's transaction, even when delivered twice",
          "[integration][consumer]") {
    ScratchTable table;
    const std::string topic = UniqueTopic(), group = "crm-test-" + cc::NewUuid();
    const std::string t1 = UniqueTenant(), t2 = UniqueTenant();
    std::vector<TestEvent> events = MakeEvents(t1, 6);
    for (auto& e : MakeEvents(t2, 4)) events.push_back(e);
    std::vector<TestEvent> delivered = events;
    delivered.push_back(events[1]);  // the same messages again (same event ids and bytes)
    delivered.push_back(events[4]);
    delivered.push_back(events[8]);
    Produce(topic, delivered);

    cc::Metrics metrics("consumer-test");
    cc::Db db(DbFor(), metrics);
    std::atomic<int> calls{0};
    {
        cc::EventConsumer consumer(Settings(topic, group), db, metrics,
                                   [&](pqxx::work& tx, const cc::ConsumedEvent& ev) {
                                       ++calls;
                                       WriteEffect(tx, table.name(), ev, "only");
                                   });
        consumer.Start();
        REQUIRE(Eventually([&] {
            return MetricValue(metrics, "crm_kafka_consumed_total") + MetricValue(metrics, "crm_kafka_skipped_total") ==
                   13;
        }));
        REQUIRE(Eventually([&] { return CommittedTotal(group, topic) == 13; }));
    }
    CHECK(calls == 10);
    CHECK(MetricValue(metrics, "crm_kafka_consumed_total") == 10);
    CHECK(MetricValue(metrics, "crm_kafka_skipped_total") == 3);
    CheckAppliedOnce(table, events);
    CHECK(ProcessedRows(group) == 10);
    CHECK(Count("SELECT count(*) FROM crm_processed_events WHERE consumer = '" + group + "' AND tenant_id = '" + t2 +
                "' AND topic = '" + topic + "'") == 4);

    // Row-level security: the app role sees only the current tenant's processed events.
    pqxx::connection app(RequireEnv("CRM_CONTACTS_DB_URL"));
    auto visible = [&](const std::string& tenant) {
        pqxx::work tx(app);
        tx.exec_params("SELECT set_config('crm.tenant_id', $1, true)", tenant);
        return tx.exec_params("SELECT count(*) FROM crm_processed_events WHERE consumer = $1", group)[0][0].as<long>();
    };
    CHECK(visible(t1) == 6);
    CHECK(visible(t2) == 4);
    CHECK(visible(UniqueTenant()) == 0);
}

// Runs in a child process started by the next test: applies events with commits of offsets held back, and on the
// k-th event kills itself inside the handler, before its transaction commits (a crash mid-batch).
TEST_CASE(kChildTest, "[.consumer-child]") {
    const char* crash_at = std::getenv("CRM_CONSUMER_CHILD_CRASH_AT");
    if (crash_at == nullptr) return;
    const std::string table = RequireEnv("CRM_CONSUMER_CHILD_TABLE");
    cc::ConsumerSettings s = Settings(RequireEnv("CRM_CONSUMER_CHILD_TOPIC"), RequireEnv("CRM_CONSUMER_CHILD_GROUP"));
    s.commit_interval = 1h;  // nothing committed before the crash
    s.commit_batch = 100000;
    cc::Metrics metrics("consumer-child");
    cc::Db db(DbFor(), metrics);
    const int k = std::atoi(crash_at);
    int calls = 0;
    cc::EventConsumer consumer(s, db, metrics, [&](pqxx::work& tx, const cc::ConsumedEvent& ev) {
        WriteEffect(tx, table, ev, "crashed");
        if (++calls == k) raise(SIGKILL);
    });
    consumer.Start();
    std::this_thread::sleep_for(120s);
    FAIL("the child did not reach its crash point");
}

// No semicolons in test names: catch_discover_tests would split them into two ctest tests.
TEST_CASE("consumer: a consumer killed mid-batch leaves no partial effect and its successor applies each event once",
          "[integration][consumer]") {
    ScratchTable table;
    const std::string topic = UniqueTopic(), group = "crm-test-" + cc::NewUuid();
    const std::string tenant = UniqueTenant();
    const std::vector<TestEvent> events = MakeEvents(tenant, 20);
    Produce(topic, events);

    {
        ChildProcess child(SelfPath(), {kChildTest},
                           {{"CRM_CONSUMER_CHILD_CRASH_AT", "8"},
                            {"CRM_CONSUMER_CHILD_TABLE", table.name()},
                            {"CRM_CONSUMER_CHILD_TOPIC", topic},
                            {"CRM_CONSUMER_CHILD_GROUP", group},
                            {"CRM_TEST_KAFKA", RequireEnv("CRM_TEST_KAFKA")},
                            {"CRM_CONTACTS_DB_URL", RequireEnv("CRM_CONTACTS_DB_URL")}},
                           "/tmp/crm-consumer-child-" + group + ".log");
        REQUIRE(child.Wait(90s) == 128 + SIGKILL);
    }
    // Seven transactions committed; the eighth died with its connection and left nothing.
    CHECK(Count("SELECT count(*) FROM " + table.name()) == 7);
    CHECK(ProcessedRows(group) == 7);
    CHECK(CommittedTotal(group, topic) == 0);

    cc::Metrics metrics("consumer-test");
    cc::Db db(DbFor(), metrics);
    cc::EventConsumer successor(Settings(topic, group), db, metrics, [&](pqxx::work& tx, const cc::ConsumedEvent& ev) {
        WriteEffect(tx, table.name(), ev, "successor");
    });
    successor.Start();
    // The crashed member holds its partitions until its session times out; then everything is redelivered.
    REQUIRE(Eventually([&] { return ProcessedRows(group) == 20; }, 90s));
    REQUIRE(Eventually([&] { return CommittedTotal(group, topic) == 20; }));
    successor.Stop();
    CheckAppliedOnce(table, events);
    CHECK(MetricValue(metrics, "crm_kafka_skipped_total") == 7);
    CHECK(MetricValue(metrics, "crm_kafka_consumed_total") == 13);
    CHECK(Count("SELECT count(*) FROM " + table.name() + " WHERE applied_by = 'successor'") == 13);
}

TEST_CASE("consumer: a poison message goes to <topic>.dlq with the error and the following events are applied",
          "[integration][consumer]") {
    ScratchTable table;
    const std::string topic = UniqueTopic(), group = "crm-test-" + cc::NewUuid();
    const std::string tenant = UniqueTenant();
    // One aggregate key, so all five share a partition and the poison message sits in the middle of it.
    std::vector<TestEvent> events = MakeEvents(tenant, 5);
    for (auto& e : events) e.key = events[0].key;
    const TestEvent poison = events[2];
    EventTap dlq(topic + ".dlq");
    Produce(topic, events);

    cc::Metrics metrics("consumer-test");
    cc::Db db(DbFor(), metrics);
    cc::ConsumerSettings s = Settings(topic, group);
    s.max_attempts = 3;
    std::mutex m;
    int poison_partition = -1;
    int64_t poison_offset = -1;
    cc::EventConsumer consumer(s, db, metrics, [&](pqxx::work& tx, const cc::ConsumedEvent& ev) {
        WriteEffect(tx, table.name(), ev, "only");
        if (ev.event_id() == poison.id) {
            std::lock_guard lock(m);
            poison_partition = ev.partition;
            poison_offset = ev.offset;
            throw std::runtime_error("probe payload rejected");  // after the write: it must be rolled back
        }
    });
    consumer.Start();
    REQUIRE(Eventually([&] { return ProcessedRows(group) == 4; }));
    REQUIRE(Eventually([&] { return CommittedTotal(group, topic) == 5; }));
    consumer.Stop();

    CHECK(MetricValue(metrics, "crm_kafka_failed_total") == 3);
    CHECK(MetricValue(metrics, "crm_kafka_dead_lettered_total") == 1);
    CHECK(MetricValue(metrics, "crm_kafka_consumed_total") == 4);
    std::vector<TestEvent> applied = events;
    applied.erase(applied.begin() + 2);
    CheckAppliedOnce(table, applied);
    CHECK(Count("SELECT count(*) FROM " + table.name() + " WHERE event_id = '" + poison.id + "'") == 0);

    const auto dead = dlq.WaitFor(tenant, 1, 30s);
    REQUIRE(dead.size() == 1);
    const auto& d = dead[0];
    CHECK(d.envelope.SerializeAsString() == poison.value);
    CHECK(d.key == poison.key);
    CHECK(d.headers.at("ce_id") == poison.id);  // the original headers travel along
    CHECK(d.headers.at("crm_tenant") == tenant);
    CHECK(d.headers.at("crm_dlq_error") == "probe payload rejected");
    CHECK(d.headers.at("crm_dlq_attempts") == "3");
    CHECK(d.headers.at("crm_dlq_consumer") == group);
    CHECK(d.headers.at("crm_dlq_topic") == topic);
    std::lock_guard lock(m);
    CHECK(d.headers.at("crm_dlq_partition") == std::to_string(poison_partition));
    CHECK(d.headers.at("crm_dlq_offset") == std::to_string(poison_offset));
}

TEST_CASE("consumer: after a restart the consumer resumes after the last committed offset", "[integration][consumer]") {
    ScratchTable table;
    const std::string topic = UniqueTopic(), group = "crm-test-" + cc::NewUuid();
    const std::string tenant = UniqueTenant();
    const std::vector<TestEvent> first = MakeEvents(tenant, 6), second = MakeEvents(tenant, 6);
    cc::Metrics metrics("consumer-test");
    cc::Db db(DbFor(), metrics);
    auto handler = [&](pqxx::work& tx, const cc::ConsumedEvent& ev) { WriteEffect(tx, table.name(), ev, "any"); };

    Produce(topic, first);
    {
        cc::EventConsumer consumer(Settings(topic, group), db, metrics, handler);
        consumer.Start();
        REQUIRE(Eventually([&] { return ProcessedRows(group) == 6; }));
        consumer.Stop();
    }
    CHECK(CommittedTotal(group, topic) == 6);

    Produce(topic, second);
    cc::Metrics restarted("consumer-test");
    cc::EventConsumer consumer(Settings(topic, group), db, restarted, handler);
    consumer.Start();
    REQUIRE(Eventually([&] { return ProcessedRows(group) == 12; }));
    REQUIRE(Eventually([&] { return CommittedTotal(group, topic) == 12; }));
    consumer.Stop();
    CHECK(MetricValue(restarted, "crm_kafka_consumed_total") == 6);
    CHECK(MetricValue(restarted, "crm_kafka_skipped_total") == 0);  // nothing before the committed offset again
    std::vector<TestEvent> all = first;
    all.insert(all.end(), second.begin(), second.end());
    CheckAppliedOnce(table, all);
}

TEST_CASE("consumer: finished offsets are committed before a rebalance moves partitions", "[integration][consumer]") {
    ScratchTable table;
    const std::string topic = UniqueTopic(), group = "crm-test-" + cc::NewUuid();
    const std::string tenant = UniqueTenant();
    // First a few events in each of the three partitions, so that a has progress everywhere; then more, which a and
    // b share once b joined.
    std::vector<TestEvent> early = MakeEvents(tenant, 9), late = MakeEvents(tenant, 90);
    for (size_t i = 0; i < early.size(); ++i) early[i].partition = static_cast<int>(i % 3);
    for (size_t i = 0; i < late.size(); ++i) late[i].partition = static_cast<int>(i % 3);
    Produce(topic, early);

    cc::ConsumerSettings s = Settings(topic, group);
    s.commit_interval = 1h;  // offsets are committed only on revoke and stop
    s.commit_batch = 100000;
    cc::Metrics metrics_a("consumer-test"), metrics_b("consumer-test");
    cc::Db db(DbFor(), metrics_a);
    auto slow = [&](const std::string& who) {
        return [&, who](pqxx::work& tx, const cc::ConsumedEvent& ev) {
            WriteEffect(tx, table.name(), ev, who);
            std::this_thread::sleep_for(40ms);
        };
    };
    cc::EventConsumer a(s, db, metrics_a, slow("a"));
    a.Start();
    REQUIRE(Eventually([&] { return ProcessedRows(group) == 9; }));
    CHECK(CommittedTotal(group, topic) == 0);  // a's progress is not committed yet
    Produce(topic, late);
    cc::EventConsumer b(s, db, metrics_b, slow("b"));
    b.Start();
    REQUIRE(Eventually([&] { return ProcessedRows(group) == 99; }));
    a.Stop();
    b.Stop();
    std::vector<TestEvent> all = early;
    all.insert(all.end(), late.begin(), late.end());
    CheckAppliedOnce(table, all);
    CHECK(MetricValue(metrics_a, "crm_kafka_consumed_total") > 0);
    CHECK(MetricValue(metrics_b, "crm_kafka_consumed_total") > 0);
    // Had a's finished offsets not been committed on revoke, b would have been handed a's early events again.
    CHECK(MetricValue(metrics_a, "crm_kafka_skipped_total") + MetricValue(metrics_b, "crm_kafka_skipped_total") == 0);
    CHECK(CommittedTotal(group, topic) == 99);
    // At least one partition was handed over: both a and b applied events of it.
    CHECK(Count("SELECT count(*) FROM (SELECT p.kafka_partition FROM " + table.name() +
                " e JOIN crm_processed_events p ON p.event_id = e.event_id AND p.consumer = '" + group +
                "' GROUP BY p.kafka_partition HAVING count(DISTINCT e.applied_by) = 2) handed_over") >= 1);
}

TEST_CASE("consumer: processed-event rows older than the retention are deleted", "[integration][consumer]") {
    const std::string topic = UniqueTopic(), group = "crm-test-" + cc::NewUuid();
    const std::string tenant = UniqueTenant();
    const std::string old_id = cc::NewUuid(), recent_id = cc::NewUuid();
    QueryScalar(
        "contacts",
        "INSERT INTO crm_processed_events (consumer, event_id, tenant_id, topic, kafka_partition, kafka_offset, "
        "processed_at) VALUES ('" +
            group + "', '" + old_id + "', '" + tenant + "', '" + topic + "', 0, 0, now() - interval '40 days'), ('" +
            group + "', '" + recent_id + "', '" + tenant + "', '" + topic + "', 0, 1, now() - interval '1 day')");
    Produce(topic, MakeEvents(tenant, 1));

    cc::Metrics metrics("consumer-test");
    cc::Db db(DbFor(), metrics);
    cc::ConsumerSettings s = Settings(topic, group);
    s.processed_retention = std::chrono::hours(24 * 30);
    cc::EventConsumer consumer(s, db, metrics, [](pqxx::work&, const cc::ConsumedEvent&) {});
    consumer.Start();  // the cleanup runs at start, then hourly
    REQUIRE(Eventually([&] { return MetricValue(metrics, "crm_kafka_consumed_total") == 1; }));
    consumer.Stop();
    CHECK(Count("SELECT count(*) FROM crm_processed_events WHERE event_id = '" + old_id + "'") == 0);
    CHECK(Count("SELECT count(*) FROM crm_processed_events WHERE event_id = '" + recent_id + "'") == 1);
    CHECK(ProcessedRows(group) == 2);
}
