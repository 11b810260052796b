#pragma once
// Kafka consumer runtime: how every service applies the events of other services (and analytics builds its read
// models), once each, without stalling on a bad message.
//
//   ConsumerSettings settings = app.ConsumerDefaults();  // brokers, group "crm-<service>"
//   settings.topics = {"crm.contacts.v1"};
//   app.AddConsumer(std::make_unique<EventConsumer>(
//       settings, app.db(), app.metrics(), [&](pqxx::work& tx, const ConsumedEvent& ev) {
//           ... apply ev to the service's tables in tx (already scoped to ev's tenant) ...
//       }));  // started with the server, stopped on SIGTERM (service.hpp)
//
// Guarantees:
// - Exactly-once application. The handler runs in a transaction for the event's tenant (row-level security
//   applies); in the same transaction the event id is inserted into crm_processed_events (ON CONFLICT DO NOTHING).
//   A redelivered event finds its row and the handler is skipped; a transaction that did not commit left nothing.
// - Offsets are committed (synchronously, in batches) only after the transactions of the messages they cover
//   committed; enable.auto.commit is off, a new group starts at the earliest retained offset.
// - A failing message is retried with exponential backoff; after max_attempts it is published, with its key,
//   value and headers and crm_dlq_* headers describing the failure, to "<topic>.dlq" by an idempotent producer,
//   and once the broker acknowledged it, its offset is committed and consumption goes on. An envelope that cannot
//   be parsed or lacks a usable event id or tenant goes to the DLQ at once. While a dependency is unavailable
//   (connection lost, ApiError UNAVAILABLE) the message is retried without counting attempts (it is not at fault);
//   should that outlast max_poll_interval, the consumer rejoins its group and redelivered messages are skipped.
// - Logs carry ids, types, topics and offsets only; exception texts (which may quote data) go only into the DLQ
//   headers.
// - Rebalance: offsets of finished messages are committed before partitions are given up. Stop(): the message in
//   hand is finished (or, when it is waiting for a retry, left for redelivery), offsets are committed, the consumer
//   leaves the group.
//
// Include from wiring and storage code only: it pulls in pqxx (through db.hpp), not librdkafka or generated protos.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "crm/common/db.hpp"

namespace crm::common::v1 {
class EventEnvelope;  // crm/common/v1/event.pb.h
}

namespace crm::common {

namespace privacy {
class SubjectKeySource;
}
class Metrics;

struct ConsumerSettings {
    std::string brokers;              // Kafka bootstrap servers
    std::vector<std::string> topics;  // e.g. {"crm.contacts.v1"}
    std::string group_id;             // default "crm-<service>"
    std::string name;                 // the consumer in crm_processed_events, metrics and logs; default group_id
    // Offsets are committed after this many finished messages, or after commit_interval, whichever comes first.
    int commit_batch = 100;
    std::chrono::milliseconds commit_interval{1000};
    std::chrono::milliseconds poll_timeout{200};  // longest wait in one poll (bounds how fast Stop() is seen)
    // Failures: attempt n (1-based) that fails waits min(retry_backoff * retry_multiplier^(n-1), retry_backoff_max);
    // after max_attempts failures the message goes to the DLQ.
    int max_attempts = 5;
    std::chrono::milliseconds retry_backoff{200};
    std::chrono::milliseconds retry_backoff_max{10000};
    double retry_multiplier = 2.0;
    std::string dlq_suffix = ".dlq";
    std::chrono::milliseconds dlq_timeout{10000};  // message.timeout.ms of the DLQ producer
    // Group membership (librdkafka session.timeout.ms, heartbeat.interval.ms, max.poll.interval.ms).
    std::chrono::milliseconds session_timeout{10000};
    std::chrono::milliseconds heartbeat_interval{3000};
    std::chrono::milliseconds max_poll_interval{300000};
    std::chrono::milliseconds lag_interval{5000};  // how often crm_kafka_consumer_lag is refreshed
    // Rows of crm_processed_events older than this are deleted (hourly); keep it longer than the topics' retention.
    // Zero keeps them forever.
    std::chrono::hours processed_retention{24 * 30};
    // Set (ServiceApp::SubjectKeys) when the handler needs other services' personal fields in clear: each envelope
    // is opened before the handler sees it (personal_fields.hpp); fields whose key was destroyed arrive as "".
    std::shared_ptr<privacy::SubjectKeySource> keys;
    // Extra librdkafka properties for both clients (security.protocol, sasl.*, ...); they win over the above.
    std::map<std::string, std::string> kafka;

    // Fills the defaults that depend on the service (group_id, name); throws std::invalid_argument listing what
    // is wrong.
    void Complete(const std::string& service);
};

using KafkaHeaders = std::vector<std::pair<std::string, std::string>>;

// One message, as the handler sees it.
struct ConsumedEvent {
    const v1::EventEnvelope& envelope;  // parsed and checked (EnvelopeProblem); payload via envelope.payload()
    std::string topic;
    int partition = 0;
    int64_t offset = 0;
    std::string key;
    KafkaHeaders headers;

    const std::string& event_id() const;
    const std::string& event_type() const;
    const std::string& tenant_id() const;
    // The value of the first header with this name, or nullptr.
    const std::string* header(std::string_view name) const;
};

// The effect of one event, run inside the transaction that also records the event as processed.
using EventHandler = std::function<void(pqxx::work&, const ConsumedEvent&)>;

// Lower level: applies an event at most once and returns false when it had been applied before. The Db constructor
// builds it from an EventHandler and crm_processed_events; tests substitute an in-memory store.
using ApplyFn = std::function<bool(const ConsumedEvent&)>;

// Throw from a handler when retrying cannot help (e.g. a payload this version cannot interpret): the message goes
// to the DLQ after this attempt.
class PermanentEventError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class EventConsumer {
  public:
    // settings.Complete(metrics.service()) is applied; throws std::invalid_argument on bad settings.
    EventConsumer(ConsumerSettings settings, Db& db, Metrics& metrics, EventHandler handler);
    EventConsumer(ConsumerSettings settings, Metrics& metrics, ApplyFn apply);
    ~EventConsumer();  // stops
    EventConsumer(const EventConsumer&) = delete;
    EventConsumer& operator=(const EventConsumer&) = delete;

    // Creates the Kafka clients (throws std::runtime_error on a bad configuration), subscribes and starts the
    // consumer thread.
    void Start();
    // Finishes the message in hand, commits offsets, leaves the group. Idempotent.
    void Stop();

    const ConsumerSettings& settings() const { return settings_; }

  private:
    struct Impl;
    void Loop();
    ConsumerSettings settings_;
    Metrics& metrics_;
    ApplyFn apply_;
    std::function<void()> maintain_;  // periodic upkeep (deleting old processed-event rows)
    std::unique_ptr<Impl> impl_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// ---------------------------------------------------------------------------------------------------------------
// Pure pieces of the runtime, exposed for tests.

// How long to wait after the failed attempt number `failed_attempt` (1-based).
std::chrono::milliseconds RetryDelay(const ConsumerSettings& settings, int failed_attempt);

struct DeadLetterInfo {
    std::string error;  // what went wrong (the exception text, cut to 1000 bytes); travels only in the DLQ
    int attempts = 0;   // 0 when the envelope could not be used at all
    std::string consumer;
    std::string topic;
    int partition = 0;
    int64_t offset = 0;
};
// The original headers (minus crm_dlq_* headers of an earlier dead-lettering) followed by crm_dlq_error,
// crm_dlq_attempts, crm_dlq_consumer, crm_dlq_topic, crm_dlq_partition and crm_dlq_offset.
KafkaHeaders DeadLetterHeaders(const KafkaHeaders& original, const DeadLetterInfo& info);

// "" when the envelope can be applied: a UUID event id, a valid tenant id and an event type; else the problem.
std::string EnvelopeProblem(const v1::EventEnvelope& envelope);

// librdkafka properties of the consumer and of the DLQ producer for these (completed) settings.
std::map<std::string, std::string> ConsumerKafkaConfig(const ConsumerSettings& settings);
std::map<std::string, std::string> DeadLetterProducerConfig(const ConsumerSettings& settings);

}  // namespace crm::common
