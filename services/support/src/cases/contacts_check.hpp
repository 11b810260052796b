#pragma once
// Checks a case's links (contact_id, company_id) with the contacts service, on behalf of the caller (their identity,
// a capped deadline). Called before the case's transaction, so no transaction waits on another service.
#include <chrono>
#include <memory>
#include <string>

#include "crm/common/rpc.hpp"
#include "crm/common/tls.hpp"

namespace crm::support::cases {

struct ContactsSettings {
    std::string contacts_addr;  // empty: links cannot be checked (FAILED_PRECONDITION LINKS_UNCHECKABLE)
    std::string internal_key;
    std::chrono::milliseconds call_timeout{3000};
    common::TlsFiles tls;
};

class ContactsCheck {
  public:
    explicit ContactsCheck(ContactsSettings settings);
    ~ContactsCheck();
    // INVALID_ARGUMENT naming <prefix>contact_id / <prefix>company_id for an unknown, merged, erased or deleted record;
    // UNAVAILABLE or DEADLINE_EXCEEDED when contacts cannot answer. Empty ids are not checked.
    void Check(const common::RequestContext& rc, const std::string& contact_id, const std::string& company_id,
               const std::string& prefix) const;

    // The id of the contact with this e-mail address, created through contacts (given name from the display name)
    // when none exists; the create carries an idempotency key derived from the address, and a duplicate answer
    // (ALREADY_EXISTS with existing_id) is the existing contact. UNAVAILABLE / DEADLINE_EXCEEDED when contacts cannot
    // answer; FAILED_PRECONDITION without a contacts address.
    std::string FindOrCreateByEmail(const common::RequestContext& rc, const std::string& email,
                                    const std::string& display_name) const;

  private:
    struct Impl;
    ContactsSettings settings_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::support::cases
