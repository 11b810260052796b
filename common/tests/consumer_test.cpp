// The pure parts of the consumer runtime: settings, retry schedule, dead-letter headers, envelope checks and the
// librdkafka properties. No broker, no database.
#include "crm/common/consumer.hpp"

#include <crm/common/v1/event.pb.h>

#include <catch2/catch.hpp>

#include "crm/common/crypto.hpp"

using namespace crm::common;
using namespace std::chrono_literals;

namespace {
ConsumerSettings Valid() {
    ConsumerSettings s;
    s.brokers = "127.0.0.1:9092";
    s.topics = {"crm.contacts.v1"};
    return s;
}
}  // namespace

TEST_CASE("consumer settings: group and name default from the service") {
    ConsumerSettings s = Valid();
    s.Complete("analytics");
    CHECK(s.group_id == "crm-analytics");
    CHECK(s.name == "crm-analytics");

    ConsumerSettings named = Valid();
    named.group_id = "crm-analytics-projections";
    named.Complete("analytics");
    CHECK(named.group_id == "crm-analytics-projections");
    CHECK(named.name == "crm-analytics-projections");
}

TEST_CASE("consumer settings: every problem is reported at once") {
    ConsumerSettings s;
    s.max_attempts = 0;
    s.heartbeat_interval = 20s;
    s.session_timeout = 10s;
    try {
        s.Complete("leads");
        FAIL("expected std::invalid_argument");
    } catch (const std::invalid_argument& e) {
        const std::string text = e.what();
        CHECK(text.find("crm-leads") != std::string::npos);
        CHECK(text.find("brokers is empty") != std::string::npos);
        CHECK(text.find("no topics") != std::string::npos);
        CHECK(text.find("max_attempts") != std::string::npos);
        CHECK(text.find("heartbeat_interval") != std::string::npos);
    }
    ConsumerSettings backoff = Valid();
    backoff.retry_backoff = 5s;
    backoff.retry_backoff_max = 1s;
    CHECK_THROWS_AS(backoff.Complete("x"), std::invalid_argument);
    ConsumerSettings empty_topic = Valid();
    empty_topic.topics.push_back("");
    CHECK_THROWS_AS(empty_topic.Complete("x"), std::invalid_argument);
}

TEST_CASE("retry delays grow exponentially up to the cap") {
    ConsumerSettings s = Valid();
    s.retry_backoff = 100ms;
    s.retry_multiplier = 2.0;
    s.retry_backoff_max = 1000ms;
    CHECK(RetryDelay(s, 1) == 100ms);
    CHECK(RetryDelay(s, 2) == 200ms);
    CHECK(RetryDelay(s, 3) == 400ms);
    CHECK(RetryDelay(s, 4) == 800ms);
    CHECK(RetryDelay(s, 5) == 1000ms);
    CHECK(RetryDelay(s, 500) == 1000ms);  // no overflow
    CHECK(RetryDelay(s, 0) == 100ms);
    s.retry_multiplier = 1.0;
    CHECK(RetryDelay(s, 7) == 100ms);  // constant backoff
}

TEST_CASE("dead-letter headers keep the original ones and describe the failure") {
    const KafkaHeaders original{{"ce_id", "e1"}, {"crm_tenant", "acme"}, {"crm_dlq_error", "an earlier failure"}};
    DeadLetterInfo info{std::string(5000, 'x'), 3, "crm-analytics", "crm.leads.v1", 2, 41};
    const KafkaHeaders h = DeadLetterHeaders(original, info);
    const KafkaHeaders expected_prefix{{"ce_id", "e1"}, {"crm_tenant", "acme"}};
    REQUIRE(h.size() == 8);
    CHECK(KafkaHeaders(h.begin(), h.begin() + 2) == expected_prefix);  // the old crm_dlq_* header is replaced
    CHECK(h[2].first == "crm_dlq_error");
    CHECK(h[2].second.size() == 1000);  // cut
    CHECK(h[3] == std::pair<std::string, std::string>{"crm_dlq_attempts", "3"});
    CHECK(h[4] == std::pair<std::string, std::string>{"crm_dlq_consumer", "crm-analytics"});
    CHECK(h[5] == std::pair<std::string, std::string>{"crm_dlq_topic", "crm.leads.v1"});
    CHECK(h[6] == std::pair<std::string, std::string>{"crm_dlq_partition", "2"});
    CHECK(h[7] == std::pair<std::string, std::string>{"crm_dlq_offset", "41"});
}

TEST_CASE("an envelope needs a UUID event id, a valid tenant and a type") {
    v1::EventEnvelope env;
    env.set_event_id(NewUuid());
    env.set_tenant_id("acme");
    env.set_event_type("crm.contacts.events.v1.ContactCreated");
    CHECK(EnvelopeProblem(env).empty());

    v1::EventEnvelope bad_id = env;
    bad_id.set_event_id("42");
    CHECK(EnvelopeProblem(bad_id) == "event_id is not a UUID");
    v1::EventEnvelope no_tenant = env;
    no_tenant.clear_tenant_id();
    CHECK(EnvelopeProblem(no_tenant) == "tenant_id is missing or invalid");
    v1::EventEnvelope bad_tenant = env;
    bad_tenant.set_tenant_id("ACME'; --");
    CHECK(EnvelopeProblem(bad_tenant) == "tenant_id is missing or invalid");
    v1::EventEnvelope no_type = env;
    no_type.clear_event_type();
    CHECK(EnvelopeProblem(no_type) == "event_type is missing");
}

TEST_CASE("consumed events expose envelope fields and headers") {
    v1::EventEnvelope env;
    env.set_event_id("0b8e7c2e-8a43-4c55-9d0f-2b0c5a1e9f10");
    env.set_tenant_id("acme");
    env.set_event_type("crm.leads.events.v1.LeadCreated");
    const ConsumedEvent ev{env, "crm.leads.v1", 1, 7, "k", {{"a", "1"}, {"b", "2"}, {"a", "3"}}};
    CHECK(ev.event_id() == env.event_id());
    CHECK(ev.tenant_id() == "acme");
    CHECK(ev.event_type() == "crm.leads.events.v1.LeadCreated");
    REQUIRE(ev.header("a") != nullptr);
    CHECK(*ev.header("a") == "1");
    CHECK(ev.header("c") == nullptr);
}

TEST_CASE("Kafka properties: manual commits after the transaction, earliest offsets, idempotent DLQ producer") {
    ConsumerSettings s = Valid();
    s.session_timeout = 6000ms;
    s.heartbeat_interval = 500ms;
    s.dlq_timeout = 3000ms;
    s.kafka["security.protocol"] = "ssl";
    s.Complete("sales");
    auto c = ConsumerKafkaConfig(s);
    CHECK(c["group.id"] == "crm-sales");
    CHECK(c["enable.auto.commit"] == "false");
    CHECK(c["enable.auto.offset.store"] == "false");
    CHECK(c["auto.offset.reset"] == "earliest");
    CHECK(c["session.timeout.ms"] == "6000");
    CHECK(c["heartbeat.interval.ms"] == "500");
    CHECK(c["security.protocol"] == "ssl");
    auto p = DeadLetterProducerConfig(s);
    CHECK(p["enable.idempotence"] == "true");
    CHECK(p["acks"] == "all");
    CHECK(p["message.timeout.ms"] == "3000");
    CHECK(p["security.protocol"] == "ssl");
    CHECK(p.count("group.id") == 0);
}
