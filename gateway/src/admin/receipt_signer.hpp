#pragma once
// Ed25519 signatures of data-subject request receipts (OpenSSL). The key is a 32-byte seed: CRM_DSR_SIGNING_KEY
// (base64url) when set, else derived from the internal key (SHA-256 of a label and CRM_INTERNAL_KEY), so that every
// replica and every restart signs with the same key without one more secret to distribute. The key id is the first
// 16 hex digits of the SHA-256 of the public key.
#include <string>
#include <string_view>

namespace crm::gateway {

class ReceiptSigner {
  public:
    explicit ReceiptSigner(std::string seed);  // 32 bytes; throws std::invalid_argument otherwise
    static ReceiptSigner FromConfig(const std::string& signing_key_b64url, const std::string& internal_key);

    const std::string& key_id() const { return key_id_; }
    const std::string& public_key() const { return public_key_; }  // raw 32 bytes
    std::string Sign(std::string_view message) const;              // raw 64 bytes

  private:
    std::string seed_;
    std::string public_key_;
    std::string key_id_;
};

// Verifies an Ed25519 signature with a raw 32-byte public key.
bool VerifyEd25519(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace crm::gateway
