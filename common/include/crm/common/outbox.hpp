#pragma once
// Transactional outbox. Repositories call Outbox::Append inside the transaction that changes state, so an event
// exists if and only if the change committed. OutboxRelay (one active per database, elected by an advisory lock)
// publishes unsent rows in id order with an idempotent Kafka producer (key = aggregate id, so one aggregate's
// events stay in one partition, in order), marks them published, and after a crash or a broker outage simply
// continues with whatever is still unsent. Delivery to Kafka is at least once; consumers deduplicate on event_id.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "crm/common/db.hpp"

namespace google::protobuf {
class Message;
}

namespace crm::common {

struct NewEvent {
    std::string aggregate_type;  // "contact"
    std::string aggregate_id;    // UUID, also the Kafka key
    int64_t aggregate_version;   // version after the change
    const google::protobuf::Message& payload;
};

class Outbox {
  public:
    // source: service name ("contacts"); topic: "crm.contacts.v1".
    Outbox(Db& db, std::string source, std::string topic);

    // Writes the event in tx (the caller's tenant transaction), and the change's row in the audit trail (audit.hpp)
    // with the caller of rc as actor (also in the envelope); returns the event id.
    std::string Append(pqxx::transaction_base& tx, const RequestContext& rc, const NewEvent& event);
    // The same by tenant: within an RPC of that tenant its caller is the actor, else (consumer, job) the service.
    std::string Append(pqxx::transaction_base& tx, const std::string& tenant_id, const std::string& request_id,
                       const NewEvent& event);

    const std::string& topic() const { return topic_; }

  private:
    std::string Write(pqxx::transaction_base& tx, const RequestContext& rc, bool by_service, const NewEvent& event);
    Db& db_;
    std::string source_;
    std::string topic_;
};

struct RelaySettings {
    std::string db_url;   // application role
    std::string brokers;  // Kafka bootstrap servers
    int batch_size = 500;
    std::chrono::milliseconds idle_poll{500};          // longest wait for a NOTIFY before looking anyway
    std::chrono::milliseconds message_timeout{10000};  // librdkafka message.timeout.ms
    std::chrono::milliseconds retry_backoff{1000};     // after a failed batch
    std::chrono::hours retention{24};                  // published rows are deleted after this
};

class OutboxRelay {
  public:
    OutboxRelay(RelaySettings settings, Metrics& metrics);
    ~OutboxRelay();  // stops
    void Start();
    // Finishes the batch in flight, waits for its delivery reports, and stops. Idempotent.
    void Stop();

  private:
    void Loop();
    struct Impl;
    RelaySettings settings_;
    Metrics& metrics_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace crm::common
