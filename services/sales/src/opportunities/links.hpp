#pragma once
// Checks an opportunity's links to records of the contacts service (contact_id, company_id) on behalf of the caller:
// GetContact / GetCompany with the caller's identity signed as the gateway signs it and a bounded deadline.
#include <chrono>
#include <memory>
#include <string>

#include "crm/common/rpc.hpp"
#include "crm/common/tls.hpp"

namespace crm::sales::opportunities {

struct LinkSettings {
    std::string contacts_addr;  // host:port of crm.contacts.v1; empty = links cannot be checked (refused)
    std::string internal_key;   // signs the caller's identity on the outbound calls
    common::TlsFiles tls;       // empty = plaintext
    std::chrono::milliseconds call_timeout{3000};
};

class ContactLinks {
  public:
    explicit ContactLinks(LinkSettings settings);
    ~ContactLinks();

    // Checks the non-empty ids (lowercase UUIDs) of `field_prefix`.contact_id / .company_id. Throws INVALID_ARGUMENT
    // naming each field whose record is missing, another tenant's, deleted, merged or erased; UNAVAILABLE when
    // contacts cannot be reached (or is not configured: FAILED_PRECONDITION), DEADLINE_EXCEEDED when it ran out of
    // time. Returns when every given link is valid.
    void Check(const common::RequestContext& rc, const std::string& contact_id, const std::string& company_id,
               const std::string& field_prefix) const;

  private:
    struct Impl;
    LinkSettings settings_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::sales::opportunities
