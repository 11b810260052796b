#pragma once
// The sender: one background thread per replica that starts due sends and delivers their messages through the SMTP
// relay (common/mail.hpp). Safe with many replicas and across crashes:
// - a due send is started (its recipients fixed) by one replica: the send row is claimed FOR UPDATE SKIP LOCKED;
// - a message is claimed (status 'sending', committed) before the relay is called and its outcome is recorded after,
//   so no two replicas send the same message; a process that dies between the relay's acceptance and the record
//   leaves the row 'sending', which turns 'unconfirmed' after the claim lease: never sent again (at most once per send
//   and person);
// - a temporary failure (4xx, no connection) is retried with exponential backoff up to max_attempts, then 'failed'; a
//   permanent one (5xx) is a hard bounce: 'bounced', the address suppressed, EmailBounced;
// - each tenant gets at most rate_per_minute messages a minute from each replica (a token bucket);
// - a suppressed address is never mailed, also one whose person was erased (kept as a keyed hash,
//   domain/suppression.hpp): such recipients are dropped when a send starts (counted skipped) and refused at delivery.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "crm/common/mail.hpp"
#include "crm/common/scheduler.hpp"

namespace pqxx {
class transaction_base;
}

namespace prometheus {
class Counter;
template <class T>
class Family;
}  // namespace prometheus

namespace crm::common {
class Db;
class Metrics;
class Outbox;
}  // namespace crm::common

namespace crm::marketing::email {

struct SenderSettings {
    common::mail::RelaySettings relay;
    std::string default_from = "marketing@crm.invalid";  // when a tenant set no sender
    std::string internal_key;                            // signs tracked-link and unsubscribe tokens
    std::string public_base_url;
    std::chrono::milliseconds tick{500};
    int batch = 100;  // messages claimed per send and round
    int max_attempts = 5;
    std::chrono::milliseconds retry_backoff{2000};
    std::chrono::milliseconds retry_backoff_max{600000};
    std::chrono::milliseconds claim_lease{60000};
    int default_rate_per_minute = 600;
};

class Sender {
  public:
    Sender(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, SenderSettings settings);
    ~Sender();
    void Start();
    void Stop();  // idempotent; finishes the message in hand
    // One round (tests and the thread): start due sends, expire old claims, deliver due messages.
    void RunRound();

  private:
    struct Bucket {
        double tokens = 0;
        std::chrono::steady_clock::time_point last;
    };
    void StartDueSends();
    // The just-expanded recipients of `send` whose address is suppressed as an erased person's hash: deleted.
    std::int64_t DropHashedSuppressions(pqxx::transaction_base& tx, const std::string& tenant, const std::string& send);
    void ExpireClaims();
    void Deliver(const std::string& tenant, const std::string& send_id);
    int Budget(const std::string& tenant, int rate_per_minute);
    void Spend(const std::string& tenant, int used);
    void Count(const char* outcome, double n = 1);

    common::Db& db_;
    common::Outbox& outbox_;
    SenderSettings settings_;
    common::mail::Relay relay_;
    prometheus::Family<prometheus::Counter>& outcomes_;
    std::map<std::string, prometheus::Counter*> counters_;
    std::map<std::string, Bucket> buckets_;
    common::Scheduler runner_;  // last: its thread uses the members above
};

}  // namespace crm::marketing::email
