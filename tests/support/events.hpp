#pragma once
// Reads domain events from the real Kafka broker for assertions. A tap remembers the end of every partition when it
// is created and later returns only what was published after that, for one tenant.
#include <crm/common/v1/event.pb.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace RdKafka {
class KafkaConsumer;
}

namespace crm::test {

struct ReceivedEvent {
    // As a consumer with the producer's key sees it: personal fields opened (or "" when the key was destroyed).
    crm::common::v1::EventEnvelope envelope;
    // As published: personal fields sealed (common/personal_fields.hpp).
    crm::common::v1::EventEnvelope sealed;
    std::string key;
    int partition = -1;
    long long offset = -1;
    std::map<std::string, std::string> headers;
};

// An event to put on Kafka as the outbox relays do (for consumer and projection tests).
struct OutgoingEvent {
    std::string topic;
    std::string key;    // the aggregate id
    std::string value;  // a serialized EventEnvelope (or anything, for poison tests)
    std::string event_id;
    std::string tenant;
    int partition = -1;  // -1: by the key (librdkafka's partitioner)
};

// Produces the events in order with an idempotent producer, headers ce_id and crm_tenant, and waits until the broker
// acknowledged every one.
void ProduceEvents(const std::vector<OutgoingEvent>& events);

// Every topic on the broker whose name starts with `prefix` (e.g. "crm.": the domain topics and their DLQs).
std::vector<std::string> ListTopics(const std::string& prefix);
// Every message of `topic` from the earliest retained offset to the current end, as published (`payload` raw bytes;
// `envelope` parsed when it parses, not opened).
struct RawMessage {
    std::string topic;
    int partition = -1;
    long long offset = -1;
    std::string payload;
    bool parsed = false;
    crm::common::v1::EventEnvelope envelope;
};
std::vector<RawMessage> ReadTopicFromStart(const std::string& topic);

// Opens the personal fields of an envelope as the suite's consumers do, asking the producing service (its address
// from CRM_TEST_<SERVICE>) for the key with a service identity. Returns the number of values opened or blanked.
int OpenPersonalFields(crm::common::v1::EventEnvelope& envelope);

class EventTap {
  public:
    explicit EventTap(std::string topic);
    ~EventTap();

    // Waits until at least `count` events of `tenant` arrived (or the timeout passed), then keeps reading for
    // `settle` more to catch any extra (duplicate) event, and returns all of them in arrival order.
    // Events of this type are neither counted nor returned by WaitFor (e.g. what a scheduler may emit for the tenant
    // at any moment, such as sales' scheduled ForecastSnapshotTaken).
    void Ignore(std::string event_type) { ignored_.push_back(std::move(event_type)); }
    // Only events the predicate keeps are counted and returned: for a test that must not depend on when the outbox
    // relay publishes what the test wrote before the tap was made (a relay under load may publish it seconds later).
    void Keep(std::function<bool(const crm::common::v1::EventEnvelope&)> keep) { keep_ = std::move(keep); }

    std::vector<ReceivedEvent> WaitFor(const std::string& tenant, size_t count, std::chrono::milliseconds timeout,
                                       std::chrono::milliseconds settle = std::chrono::milliseconds(1500));

  private:
    std::string topic_;
    std::vector<std::string> ignored_;
    std::function<bool(const crm::common::v1::EventEnvelope&)> keep_;
    std::map<int, long long> start_;  // partition -> first offset to read; missing partitions start at 0
    std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
    bool assigned_ = false;
    void Assign();
};

}  // namespace crm::test
