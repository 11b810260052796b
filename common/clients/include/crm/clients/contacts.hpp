#pragma once
// A service's calls to the contacts service on behalf of its caller (the caller's identity signed as the gateway
// signs it, a capped deadline), shared by every service that links records to people: checking contact_id /
// company_id links, and finding or creating the contact of an e-mail address. Generated gRPC headers stay in the
// source file, so including this costs nothing.
#include <chrono>
#include <memory>
#include <string>

#include "crm/common/rpc.hpp"
#include "crm/common/tls.hpp"

namespace crm::clients {

struct ContactsSettings {
    std::string caller;            // the calling service's name, for messages ("sales")
    std::string address_variable;  // where its contacts address is configured ("CRM_SALES_CONTACTS_ADDR")
    std::string contacts_addr;     // host:port of crm.contacts.v1; empty = nothing can be checked (refused)
    std::string internal_key;      // signs the caller's identity on the outbound calls
    common::TlsFiles tls;          // empty = plaintext
    std::chrono::milliseconds call_timeout{3000};
};

class ContactsClient {
  public:
    explicit ContactsClient(ContactsSettings settings);
    ~ContactsClient();
    ContactsClient(const ContactsClient&) = delete;
    ContactsClient& operator=(const ContactsClient&) = delete;

    // Checks the non-empty ids. Throws INVALID_ARGUMENT naming `<prefix>contact_id` / `<prefix>company_id` (prefix
    // like "opportunity." or "") for a record that is missing, another tenant's, deleted, merged or erased;
    // UNAVAILABLE when contacts cannot be reached, DEADLINE_EXCEEDED when it ran out of time, FAILED_PRECONDITION
    // (LINKS_UNCHECKABLE) when no contacts address is configured. Returns when every given link is valid.
    void CheckLinks(const common::RequestContext& rc, const std::string& contact_id, const std::string& company_id,
                    const std::string& prefix) const;

    // The id of the contact with this e-mail address, created through contacts (names from the display name) when
    // none exists; the create carries an idempotency key derived from `key_scope` and the address, and a duplicate
    // answer (ALREADY_EXISTS with existing_id) is the existing contact. Empty when contacts refuses the address or
    // name as invalid. UNAVAILABLE / DEADLINE_EXCEEDED / FAILED_PRECONDITION as above.
    std::string FindOrCreateByEmail(const common::RequestContext& rc, const std::string& email,
                                    const std::string& display_name, const std::string& key_scope) const;

  private:
    struct Impl;
    ContactsSettings settings_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::clients
