#include "authentication/jwks.hpp"

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "crm/common/crypto.hpp"

namespace crm::gateway {
namespace {

using nlohmann::json;

constexpr size_t kMaxKeys = 64;
constexpr int kMinRsaBits = 2048;
constexpr size_t kMaxKidBytes = 256;

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string B64Field(const json& jwk, const char* name) {
    auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        throw std::invalid_argument(std::string("JWK member ") + name + " is missing");
    }
    try {
        return common::Base64UrlDecode(it->get_ref<const std::string&>());
    } catch (const std::invalid_argument&) {
        throw std::invalid_argument(std::string("JWK member ") + name + " is not base64url");
    }
}

Pkey FromParams(const char* type, OSSL_PARAM_BLD* bld) {
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
    EVP_PKEY* pkey = nullptr;
    const bool ok = params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
                    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return nullptr;
    }
    return Pkey(pkey);
}

Pkey RsaKey(const json& jwk) {
    const std::string n = B64Field(jwk, "n");
    const std::string e = B64Field(jwk, "e");
    BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
    BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    Pkey key;
    if (bn_n != nullptr && bn_e != nullptr && bld != nullptr &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
        key = FromParams("RSA", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    if (!key) throw std::invalid_argument("JWK RSA key is invalid");
    if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits)
        throw std::invalid_argument("JWK RSA key is shorter than 2048 bits");
    return key;
}

Pkey EcKey(const json& jwk) {
    auto crv = jwk.find("crv");
    if (crv == jwk.end() || !crv->is_string() || crv->get_ref<const std::string&>() != "P-256") {
        throw std::invalid_argument("JWK EC key: only crv P-256 is supported");
    }
    const std::string x = B64Field(jwk, "x");
    const std::string y = B64Field(jwk, "y");
    if (x.size() != 32 || y.size() != 32) throw std::invalid_argument("JWK EC key: x and y must be 32 bytes");
    const std::string point = std::string(1, '\x04') + x + y;  // uncompressed SEC1 point
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    Pkey key;
    if (bld != nullptr &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("prime256v1"), 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1) {
        key = FromParams("EC", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    if (!key) throw std::invalid_argument("JWK EC key is invalid");
    // The point must lie on the curve (invalid-curve attacks).
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr);
    const bool on_curve = ctx != nullptr && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!on_curve) throw std::invalid_argument("JWK EC key: the point is not on P-256");
    return key;
}

// r || s (32 bytes each) -> DER ECDSA-Sig-Value, as EVP verification wants it. Empty when malformed.
std::string EcdsaRawToDer(std::string_view raw) {
    if (raw.size() != 64) return {};
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
    std::string der;
    if (sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = nullptr;  // owned by sig now
        unsigned char* out = nullptr;
        const int len = i2d_ECDSA_SIG(sig, &out);
        if (len > 0) der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
        OPENSSL_free(out);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return der;
}

size_t CollectBody(char* data, size_t size, size_t count, void* user) {
    auto* sink = static_cast<std::pair<std::string*, size_t>*>(user);
    const size_t n = size * count;
    if (sink->first->size() + n > sink->second) return 0;  // too large: abort the transfer
    sink->first->append(data, n);
    return n;
}

bool IsUrl(std::string_view s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

std::string FilePath(std::string_view source) {
    if (source.rfind("file:", 0) == 0) source.remove_prefix(5);
    return std::string(source);
}

}  // namespace

const char* JwtAlgorithmName(JwtAlgorithm alg) {
    switch (alg) {
        case JwtAlgorithm::kHS256:
            return "HS256";
        case JwtAlgorithm::kRS256:
            return "RS256";
        case JwtAlgorithm::kES256:
            return "ES256";
    }
    return "?";
}

std::optional<JwtAlgorithm> ParseJwtAlgorithm(std::string_view name) {
    if (name == "HS256") return JwtAlgorithm::kHS256;
    if (name == "RS256") return JwtAlgorithm::kRS256;
    if (name == "ES256") return JwtAlgorithm::kES256;
    return std::nullopt;
}

struct PublicKey::Impl {
    Pkey pkey;
    JwtAlgorithm alg;  // RS256 for RSA keys, ES256 for P-256 keys
};

PublicKey::PublicKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PublicKey::~PublicKey() = default;

bool PublicKey::Supports(JwtAlgorithm alg) const { return alg == impl_->alg; }

bool PublicKey::Verify(JwtAlgorithm alg, std::string_view input, std::string_view signature) const {
    if (!Supports(alg)) return false;
    std::string der;
    if (alg == JwtAlgorithm::kES256) {
        der = EcdsaRawToDer(signature);
        if (der.empty()) return false;
        signature = der;
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = ctx != nullptr &&
                    EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->pkey.get()) == 1 &&
                    EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

std::vector<JwksKey> ParseJwks(std::string_view document) {
    json doc;
    try {
        doc = json::parse(document);
    } catch (const json::exception&) {
        throw std::invalid_argument("JWKS is not JSON");
    }
    if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
        throw std::invalid_argument("JWKS must be an object with a \"keys\" array");
    }
    if (doc["keys"].size() > kMaxKeys) throw std::invalid_argument("JWKS holds more than 64 keys");
    std::vector<JwksKey> out;
    for (const auto& jwk : doc["keys"]) {
        if (!jwk.is_object()) throw std::invalid_argument("JWKS: a key is not an object");
        auto kty = jwk.find("kty");
        if (kty == jwk.end() || !kty->is_string()) throw std::invalid_argument("JWK without kty");
        if (auto use = jwk.find("use"); use != jwk.end() && (!use->is_string() || *use != "sig")) continue;
        std::string kid;
        if (auto k = jwk.find("kid"); k != jwk.end()) {
            if (!k->is_string() || k->get_ref<const std::string&>().size() > kMaxKidBytes) {
                throw std::invalid_argument("JWK kid must be a string of at most 256 bytes");
            }
            kid = k->get<std::string>();
        }
        std::optional<JwtAlgorithm> declared;
        if (auto a = jwk.find("alg"); a != jwk.end()) {
            if (!a->is_string()) throw std::invalid_argument("JWK alg must be a string");
            declared = ParseJwtAlgorithm(a->get_ref<const std::string&>());
            if (!declared) continue;  // an algorithm the gateway does not accept (RS512, ...)
        }
        auto impl = std::make_unique<PublicKey::Impl>();
        if (*kty == "RSA") {
            impl->alg = JwtAlgorithm::kRS256;
            impl->pkey = RsaKey(jwk);
        } else if (*kty == "EC") {
            impl->alg = JwtAlgorithm::kES256;
            impl->pkey = EcKey(jwk);
        } else {
            continue;  // "oct" and others: never a public key source
        }
        if (declared && *declared != impl->alg) continue;  // e.g. an RSA key declared for HS256
        out.push_back({std::move(kid), std::make_shared<const PublicKey>(std::move(impl))});
    }
    return out;
}

std::string HttpGet(const std::string& url, std::chrono::milliseconds timeout, size_t max_bytes) {
    static const bool kInit = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
    if (!kInit) throw std::runtime_error("libcurl initialisation failed");
    CURL* curl = curl_easy_init();
    if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
    std::string body;
    std::pair<std::string*, size_t> sink{&body, max_bytes};
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
        throw std::runtime_error(std::string("JWKS fetch failed: ") + (error[0] != 0 ? error : curl_easy_strerror(rc)));
    }
    if (status != 200) throw std::runtime_error("JWKS fetch: HTTP status " + std::to_string(status));
    return body;
}

JwksCache::JwksCache(JwksSettings settings, Observer observer)
    : settings_(std::move(settings)),
      observer_(std::move(observer)),
      keys_(std::make_shared<const std::vector<JwksKey>>()) {
    if (settings_.source.empty()) throw std::invalid_argument("JWKS source is empty");
    if (!IsUrl(settings_.source) && FilePath(settings_.source).front() != '/') {
        throw std::invalid_argument("JWKS source must be an http(s):// URL or an absolute file path");
    }
    if (settings_.refresh_interval.count() <= 0 || settings_.min_refresh_interval.count() <= 0 ||
        settings_.fetch_timeout.count() <= 0) {
        throw std::invalid_argument("JWKS intervals and timeout must be positive");
    }
}

JwksCache::~JwksCache() {
    {
        std::lock_guard lock(stop_mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    if (refresher_.joinable()) refresher_.join();
}

bool JwksCache::Refresh() {
    std::lock_guard refresh(refresh_mutex_);
    return RefreshLocked();
}

bool JwksCache::RefreshLocked() {
    last_attempt_ = std::chrono::steady_clock::now();
    attempted_ = true;
    std::string error;
    try {
        std::string document;
        if (IsUrl(settings_.source)) {
            document = HttpGet(settings_.source, settings_.fetch_timeout, settings_.max_bytes);
        } else {
            std::ifstream in(FilePath(settings_.source), std::ios::binary);
            if (!in) throw std::runtime_error("cannot read the JWKS file");
            std::ostringstream text;
            text << in.rdbuf();
            document = text.str();
            if (document.size() > settings_.max_bytes) throw std::runtime_error("JWKS file too large");
        }
        auto keys = std::make_shared<const std::vector<JwksKey>>(ParseJwks(document));
        const size_t count = keys->size();
        {
            std::lock_guard lock(keys_mutex_);
            keys_ = std::move(keys);
        }
        if (observer_) observer_(true, count, "");
        return true;
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (observer_) observer_(false, size(), error);
    return false;
}

void JwksCache::StartRefresher() {
    if (refresher_.joinable()) return;
    refresher_ = std::thread([this] {
        std::unique_lock lock(stop_mutex_);
        while (!stop_cv_.wait_for(lock, settings_.refresh_interval, [this] { return stopping_; })) {
            lock.unlock();
            Refresh();
            lock.lock();
        }
    });
}

size_t JwksCache::size() const {
    std::lock_guard lock(keys_mutex_);
    return keys_->size();
}

std::shared_ptr<const PublicKey> JwksCache::Lookup(std::string_view kid, JwtAlgorithm alg) const {
    std::shared_ptr<const std::vector<JwksKey>> keys;
    {
        std::lock_guard lock(keys_mutex_);
        keys = keys_;
    }
    std::shared_ptr<const PublicKey> only;
    int candidates = 0;
    for (const auto& k : *keys) {
        if (!k.key->Supports(alg)) continue;
        if (!kid.empty()) {
            if (k.kid == kid) return k.key;
            continue;
        }
        only = k.key;
        ++candidates;
    }
    return candidates == 1 ? only : nullptr;
}

std::shared_ptr<const PublicKey> JwksCache::Find(std::string_view kid, JwtAlgorithm alg) {
    if (auto key = Lookup(kid, alg)) return key;
    {
        // An unknown kid may be a rotated key: refresh, unless a refresh was tried too recently. Concurrent callers
        // wait for the one refresh and then look again.
        std::lock_guard refresh(refresh_mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (!attempted_ || now - last_attempt_ >= settings_.min_refresh_interval) RefreshLocked();
    }
    return Lookup(kid, alg);
}

}  // namespace crm::gateway
