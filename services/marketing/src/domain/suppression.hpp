#pragma once
// Suppressed addresses of erased people. An address that unsubscribed or hard-bounced stays suppressed after its
// person is erased (a new contact with the same address must not be mailed again), without the address kept in
// clear: its suppression row then holds a keyed hash instead, "hmac-sha256:" + hex(HMAC-SHA256(tenant key, address)),
// the tenant key being HMAC-SHA256(internal key, "crm-marketing-suppression-v1" NUL tenant). A database dump alone
// cannot test a guessed address against it (the key lives only in the service's secret); the service hashes every
// address it is about to mail and looks for the hash among the suppressions too. The marker cannot be an address (no
// '@'), so it never meets a real one. Rotating CRM_INTERNAL_KEY forgets these suppressions (the hashes no longer
// match): docs in the service README.
#include <string>
#include <string_view>

namespace crm::marketing::domain {

inline constexpr std::string_view kSuppressionHashPrefix = "hmac-sha256:";

class SuppressionHasher {
  public:
    SuppressionHasher(std::string_view internal_key, std::string_view tenant);
    // The stored form of a suppressed address (lower case expected, as the audience holds it).
    std::string operator()(std::string_view email) const;

  private:
    std::string tenant_key_;
};

}  // namespace crm::marketing::domain
