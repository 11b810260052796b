#include "admin/receipt_signer.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include "crm/common/crypto.hpp"

namespace crm::gateway {
namespace {

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

PKey PrivateKey(const std::string& seed) {
    PKey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(seed.data()), seed.size()),
             &EVP_PKEY_free);
    if (!key) throw std::runtime_error("cannot load the Ed25519 receipt key");
    return key;
}

}  // namespace

ReceiptSigner::ReceiptSigner(std::string seed) : seed_(std::move(seed)) {
    if (seed_.size() != 32) throw std::invalid_argument("the receipt signing key must be 32 bytes");
    const PKey key = PrivateKey(seed_);
    std::size_t len = 32;
    public_key_.resize(len);
    if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(public_key_.data()), &len) != 1 ||
        len != 32) {
        throw std::runtime_error("cannot derive the Ed25519 public key");
    }
    key_id_ = common::HexEncode(common::Sha256(public_key_)).substr(0, 16);
}

ReceiptSigner ReceiptSigner::FromConfig(const std::string& signing_key_b64url, const std::string& internal_key) {
    if (!signing_key_b64url.empty()) return ReceiptSigner(common::Base64UrlDecode(signing_key_b64url));
    return ReceiptSigner(common::Sha256("crm data-subject receipt key\n" + internal_key));
}

std::string ReceiptSigner::Sign(std::string_view message) const {
    const PKey key = PrivateKey(seed_);
    MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::string sig(64, '\0');
    std::size_t len = sig.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
        len != 64) {
        throw std::runtime_error("Ed25519 signing failed");
    }
    return sig;
}

bool VerifyEd25519(std::string_view public_key, std::string_view message, std::string_view signature) {
    PKey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                         reinterpret_cast<const unsigned char*>(public_key.data()), public_key.size()),
             &EVP_PKEY_free);
    MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

}  // namespace crm::gateway
