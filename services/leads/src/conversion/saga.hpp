#pragma once
// The conversion saga: the calls to other services that turn a lead into records there. The company and the person
// in contacts, then (when asked) the opportunity in sales, each with an idempotency key derived from the lead id
// ("lead-<id>-company", "-contact", "-opportunity"), so that a conversion retried after any failure or a crash half-way
// gets the same records back instead of creating them twice. Every call carries the caller's identity signed with
// the internal key and a deadline bounded by the caller's.
#include <crm/leads/v1/leads.pb.h>

#include <chrono>
#include <memory>
#include <string>

#include "crm/common/rpc.hpp"
#include "crm/common/tls.hpp"

namespace crm::leads::conversion {

namespace v1 = crm::leads::v1;

struct Settings {
    std::string internal_key;       // signs the identity of outbound calls
    std::string contacts_addr;      // host:port of crm.contacts.v1
    std::string sales_addr;         // host:port of crm.sales.v1 ("" = opportunities cannot be created)
    common::TlsFiles upstream_tls;  // empty = plaintext calls to contacts and sales
    std::chrono::milliseconds call_timeout{5000};
};

class Saga {
  public:
    explicit Saga(const Settings& settings);
    ~Saga();

    // Runs the calls for `lead` (as read before the saga) and returns what they produced (ids and whether the company
    // and the contact existed). A refusal by another service is FAILED_PRECONDITION (DOWNSTREAM_REJECTED); a service
    // that does not answer in time DEADLINE_EXCEEDED; one that is down UNAVAILABLE. The failpoint
    // leads.convert.after_contacts sits between the contacts calls and the sales call. Before anything is called:
    // FAILED_PRECONDITION (SALES_NOT_CONFIGURED) when an opportunity is asked for and no sales service is configured,
    // UNAVAILABLE without a contacts service.
    v1::LeadConversion Run(const common::RequestContext& rc, const v1::Lead& lead, const v1::ConvertLeadRequest& req);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::leads::conversion
