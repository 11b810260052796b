#include "crm/common/field_crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <mutex>

#include "crm/common/crypto.hpp"

namespace crm::common::privacy {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::string_view kSealedPrefix = "pv1.";

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// Fetched once (an explicit fetch per call costs a property-query lookup under a lock in OpenSSL 3); never freed.
EVP_KDF* HkdfAlgorithm() {
    static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (!kdf) throw std::runtime_error("HKDF is not available in this OpenSSL");
    return kdf;
}

const EVP_CIPHER* Aes256Gcm() {
    static const EVP_CIPHER* const cipher = [] {
        const EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
        return c ? c : EVP_aes_256_gcm();
    }();
    return cipher;
}

std::string Hkdf(std::string_view secret, std::string_view info) {
    std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(HkdfAlgorithm()), &EVP_KDF_CTX_free);
    std::string digest = "SHA256", salt = "crm";
    std::string key(secret), information(info);
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key.data(), key.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, information.data(), information.size()),
        OSSL_PARAM_construct_end()};
    std::string out(kKeyBytes, '\0');
    if (!ctx || EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), params) != 1) {
        throw std::runtime_error("HKDF derivation failed");
    }
    return out;
}

// Length-prefixed parts, so that ("ab", "c") and ("a", "bc") never give the same additional data.
std::string Framed(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view p : parts) {
        out += std::to_string(p.size());
        out += ':';
        out.append(p);
    }
    return out;
}

std::string GcmSeal(std::string_view key, std::string_view aad, std::string_view plaintext) {
    if (key.size() != kKeyBytes) throw std::invalid_argument("an AES-256 key has 32 bytes");
    CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    std::string out = RandomBytes(kNonceBytes);
    out.resize(kNonceBytes + plaintext.size() + kTagBytes);
    auto u = [](const char* p) { return reinterpret_cast<const unsigned char*>(p); };
    int len = 0;
    bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
              EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, u(key.data()), u(out.data())) == 1 &&
              EVP_EncryptUpdate(ctx.get(), nullptr, &len, u(aad.data()), static_cast<int>(aad.size())) == 1;
    auto* body = reinterpret_cast<unsigned char*>(out.data() + kNonceBytes);
    ok = ok && EVP_EncryptUpdate(ctx.get(), body, &len, u(plaintext.data()), static_cast<int>(plaintext.size())) == 1;
    int tail = 0;
    ok = ok && EVP_EncryptFinal_ex(ctx.get(), body + len, &tail) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, body + plaintext.size()) == 1;
    if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
    return out;
}

std::string GcmOpen(std::string_view key, std::string_view aad, std::string_view sealed) {
    if (key.size() != kKeyBytes) throw SealError("the key has the wrong size");
    if (sealed.size() < kNonceBytes + kTagBytes) throw SealError("the sealed value is truncated");
    const std::size_t n = sealed.size() - kNonceBytes - kTagBytes;
    CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    auto u = [](const char* p) { return reinterpret_cast<const unsigned char*>(p); };
    std::string out(n, '\0');
    std::string tag(sealed.substr(kNonceBytes + n));
    int len = 0, tail = 0;
    const bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, nullptr, nullptr) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
                    EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, u(key.data()), u(sealed.data())) == 1 &&
                    EVP_DecryptUpdate(ctx.get(), nullptr, &len, u(aad.data()), static_cast<int>(aad.size())) == 1 &&
                    EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                                      u(sealed.data() + kNonceBytes), static_cast<int>(n)) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
                    EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &tail) == 1;
    if (!ok) throw SealError("the sealed value does not open with this key and context");
    return out;
}

}  // namespace

struct Keyring::Derived {
    std::mutex mutex;
    std::map<std::string, std::string, std::less<>> keys;  // Framed(purpose, tenant, version) -> key
};

Keyring Keyring::Parse(std::string_view spec) {
    Keyring ring;
    ring.derived_ = std::make_shared<Derived>();
    std::size_t index = 0;
    while (!spec.empty()) {
        const std::size_t comma = spec.find(',');
        const std::string_view entry = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        const std::string where = "privacy key entry " + std::to_string(++index);
        const std::size_t colon = entry.find(':');
        if (entry.size() < 3 || entry[0] != 'v' || colon == std::string_view::npos || colon < 2) {
            throw std::invalid_argument(where + ": expected v<version>:<base64url key>");
        }
        int version = 0;
        for (char c : entry.substr(1, colon - 1)) {
            if (c < '0' || c > '9' || version > 100000) throw std::invalid_argument(where + ": bad version number");
            version = version * 10 + (c - '0');
        }
        if (version < 1) throw std::invalid_argument(where + ": versions start at 1");
        std::string key;
        try {
            key = Base64UrlDecode(entry.substr(colon + 1));
        } catch (const std::invalid_argument&) {
            throw std::invalid_argument(where + ": the key is not base64url");
        }
        if (key.size() != kKeyBytes) throw std::invalid_argument(where + ": a master key has 32 bytes");
        if (!ring.versions_.emplace(version, std::move(key)).second) {
            throw std::invalid_argument(where + ": version " + std::to_string(version) + " appears twice");
        }
    }
    if (ring.versions_.empty()) throw std::invalid_argument("no privacy master key configured");
    return ring;
}

std::string Keyring::Derive(std::string_view purpose, std::string_view tenant, int version) const {
    const std::string& master = versions_.at(version);  // std::out_of_range for an unknown version
    const std::string id = Framed({purpose, tenant, std::to_string(version)});
    if (derived_) {
        std::lock_guard lock(derived_->mutex);
        if (const auto it = derived_->keys.find(id); it != derived_->keys.end()) return it->second;
    }
    std::string key = Hkdf(master, Framed({purpose, tenant}));
    if (derived_) {
        std::lock_guard lock(derived_->mutex);
        if (derived_->keys.size() >= 100000) derived_->keys.clear();  // bounded: tenants x versions x 2
        derived_->keys.emplace(id, key);
    }
    return key;
}

std::string Keyring::TenantKek(std::string_view tenant, int version) const {
    return Derive("crm kek", tenant, version);
}

std::string Keyring::TenantIndexKey(std::string_view tenant) const {
    return Derive("crm blind index", tenant, versions_.begin()->first);
}

std::string NewDataKey() { return RandomBytes(kKeyBytes); }

WrappedKey WrapDataKey(const Keyring& keyring, std::string_view tenant, std::string_view subject,
                       std::string_view data_key) {
    if (data_key.size() != kKeyBytes) throw std::invalid_argument("a data key has 32 bytes");
    const int version = keyring.current_version();
    return {version, GcmSeal(keyring.TenantKek(tenant, version), Framed({"dek", tenant, subject}), data_key)};
}

std::string UnwrapDataKey(const Keyring& keyring, std::string_view tenant, std::string_view subject,
                          const WrappedKey& wrapped) {
    if (!keyring.has_version(wrapped.kek_version)) {
        throw std::out_of_range("master key version " + std::to_string(wrapped.kek_version) + " is not configured");
    }
    std::string key =
        GcmOpen(keyring.TenantKek(tenant, wrapped.kek_version), Framed({"dek", tenant, subject}), wrapped.bytes);
    if (key.size() != kKeyBytes) throw SealError("the wrapped key has the wrong size");
    return key;
}

std::string Seal(std::string_view data_key, const SealContext& context, std::string_view plaintext) {
    if (plaintext.empty()) return {};
    const std::string aad = Framed({"field", context.tenant, context.subject, context.field});
    return std::string(kSealedPrefix) + Base64UrlEncode(GcmSeal(data_key, aad, plaintext));
}

bool IsSealed(std::string_view value) { return value.substr(0, kSealedPrefix.size()) == kSealedPrefix; }

std::string Open(std::string_view data_key, const SealContext& context, std::string_view sealed) {
    if (sealed.empty()) return {};
    if (!IsSealed(sealed)) throw SealError("not a sealed value");
    std::string bytes;
    try {
        bytes = Base64UrlDecode(sealed.substr(kSealedPrefix.size()));
    } catch (const std::invalid_argument&) {
        throw SealError("the sealed value is not base64url");
    }
    return GcmOpen(data_key, Framed({"field", context.tenant, context.subject, context.field}), bytes);
}

std::string BlindIndex(const Keyring& keyring, std::string_view tenant, std::string_view field,
                       std::string_view normalized_value) {
    if (normalized_value.empty()) return {};
    return HexEncode(HmacSha256(keyring.TenantIndexKey(tenant), Framed({field, normalized_value})));
}

}  // namespace crm::common::privacy
