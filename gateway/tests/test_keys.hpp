#pragma once
// Test keys made at test time with OpenSSL (no private key is ever committed): RSA 2048 and EC P-256 key pairs, their
// public halves as JWKs, and JWTs signed with them (RS256, ES256 as raw r || s).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "crm/common/crypto.hpp"

namespace crm::gateway::testing {

struct KeyPair {
    std::shared_ptr<EVP_PKEY> pkey;
    std::string kid;
    bool ec = false;

    static KeyPair Rsa(std::string kid) {
        EVP_PKEY* p = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
        if (p == nullptr) throw std::runtime_error("RSA keygen failed");
        return {std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free), std::move(kid), false};
    }
    static KeyPair Ec(std::string kid) {
        EVP_PKEY* p = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
        if (p == nullptr) throw std::runtime_error("EC keygen failed");
        return {std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free), std::move(kid), true};
    }

    static std::string Bn(EVP_PKEY* p, const char* name, size_t pad = 0) {
        BIGNUM* bn = nullptr;
        if (EVP_PKEY_get_bn_param(p, name, &bn) != 1) throw std::runtime_error("get_bn_param failed");
        std::string out(pad != 0 ? pad : static_cast<size_t>(BN_num_bytes(bn)), '\0');
        BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
        BN_free(bn);
        return out;
    }

    // The public JWK.
    nlohmann::json Jwk() const {
        using crm::common::Base64UrlEncode;
        nlohmann::json j{{"kid", kid}, {"use", "sig"}};
        if (ec) {
            j["kty"] = "EC";
            j["crv"] = "P-256";
            j["x"] = Base64UrlEncode(Bn(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
            j["y"] = Base64UrlEncode(Bn(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
        } else {
            j["kty"] = "RSA";
            j["n"] = Base64UrlEncode(Bn(pkey.get(), OSSL_PKEY_PARAM_RSA_N));
            j["e"] = Base64UrlEncode(Bn(pkey.get(), OSSL_PKEY_PARAM_RSA_E));
        }
        return j;
    }

    // The DER SubjectPublicKeyInfo: what an attacker would use as an HMAC secret in an algorithm-confusion attack.
    std::string PublicDer() const {
        unsigned char* out = nullptr;
        const int len = i2d_PUBKEY(pkey.get(), &out);
        std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
        OPENSSL_free(out);
        return der;
    }

    // Signature over input: PKCS#1 v1.5 SHA-256 for RSA, raw r || s (64 bytes) for ES256 (or DER when der is set).
    std::string Sign(const std::string& input, bool der = false) const {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        size_t len = 0;
        EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey.get());
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
        std::string sig(len, '\0');
        EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
        EVP_MD_CTX_free(ctx);
        sig.resize(len);
        if (!ec || der) return sig;
        const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
        ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
        std::string raw(64, '\0');
        BN_bn2binpad(ECDSA_SIG_get0_r(s), reinterpret_cast<unsigned char*>(raw.data()), 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(s), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
        ECDSA_SIG_free(s);
        return raw;
    }

    // A compact JWS over the claims; header fields may be overridden (alg, kid).
    std::string Mint(const nlohmann::json& claims, nlohmann::json header = nlohmann::json::object()) const {
        using crm::common::Base64UrlEncode;
        nlohmann::json h{{"alg", ec ? "ES256" : "RS256"}, {"typ", "JWT"}, {"kid", kid}};
        h.update(header);
        const std::string input = Base64UrlEncode(h.dump()) + "." + Base64UrlEncode(claims.dump());
        return input + "." + Base64UrlEncode(Sign(input));
    }
};

inline nlohmann::json Jwks(std::initializer_list<const KeyPair*> keys) {
    nlohmann::json j{{"keys", nlohmann::json::array()}};
    for (const auto* k : keys) j["keys"].push_back(k->Jwk());
    return j;
}

}  // namespace crm::gateway::testing
