#pragma once
// Crypto-shredding of personal data (issue 15; design and threat model in docs/privacy.md).
//
// Personal fields are sealed with AES-256-GCM under a data key of their subject (one random 256-bit key per tenant
// and person). Data keys are stored only wrapped (AES-256-GCM) under the tenant's key-encryption key, which is
// derived (HKDF-SHA256) from a versioned master key held in a Kubernetes secret, never in a database or an event.
// Destroying a subject's wrapped data key makes every sealed copy of their fields unreadable: in tables, in the
// outbox, on Kafka and in any replay. Sealed values are bound to their tenant, subject and field (the GCM additional
// data), so a value copied into another row, field or tenant does not open.
//
// Equality lookups on sealed fields (duplicate e-mail, conversion by phone) use a blind index: HMAC-SHA256 of the
// normalized value under a per-tenant index key; the index key does not rotate with the master key (see
// docs/privacy.md for what that reveals).
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace crm::common::privacy {

// A sealed value that does not open (wrong key, other subject/field/tenant, altered or truncated bytes).
class SealError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The master keys, from a secret: "v<N>:<base64url 32 bytes>[,v<N>:...]" (e.g. CRM_PRIVACY_KEYS). The highest version
// is current (new wraps); older ones still unwrap until every key was rewrapped. The lowest version also derives the
// blind-index keys, so that lookups keep working across rotations.
class Keyring {
  public:
    // Throws std::invalid_argument naming the bad entry (never quoting key bytes).
    static Keyring Parse(std::string_view spec);

    int current_version() const { return versions_.rbegin()->first; }
    bool has_version(int version) const { return versions_.count(version) != 0; }

    // 32-byte keys derived for one tenant (HKDF-SHA256, salt = "crm", info names the purpose and the tenant).
    std::string TenantKek(std::string_view tenant, int version) const;  // throws std::out_of_range (unknown version)
    std::string TenantIndexKey(std::string_view tenant) const;

  private:
    struct Derived;  // derived keys already computed (HKDF per call cost more than the AES of a whole row)
    std::string Derive(std::string_view purpose, std::string_view tenant, int version) const;
    std::map<int, std::string> versions_;  // version -> master key
    std::shared_ptr<Derived> derived_;
};

struct WrappedKey {
    int kek_version = 0;
    std::string bytes;  // nonce (12) | ciphertext (32) | tag (16)
};

std::string NewDataKey();  // 32 random bytes

WrappedKey WrapDataKey(const Keyring& keyring, std::string_view tenant, std::string_view subject,
                       std::string_view data_key);
// Throws SealError when the wrapped key was altered or belongs to another tenant or subject, std::out_of_range when
// its master key version is no longer in the keyring.
std::string UnwrapDataKey(const Keyring& keyring, std::string_view tenant, std::string_view subject,
                          const WrappedKey& wrapped);

// Where a sealed value belongs: it opens only with the same three.
struct SealContext {
    std::string_view tenant;
    std::string_view subject;
    std::string_view field;  // e.g. "contact.email"
};

// "pv1." + base64url(nonce | ciphertext | tag). An empty plaintext seals to "" (nothing to protect, and "not set"
// stays "not set").
std::string Seal(std::string_view data_key, const SealContext& context, std::string_view plaintext);
bool IsSealed(std::string_view value);
// Throws SealError. "" opens to "".
std::string Open(std::string_view data_key, const SealContext& context, std::string_view sealed);

// Hex HMAC-SHA256 of `field` and the normalized value under the tenant's index key (64 characters); "" for "".
std::string BlindIndex(const Keyring& keyring, std::string_view tenant, std::string_view field,
                       std::string_view normalized_value);

}  // namespace crm::common::privacy
