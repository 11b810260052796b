#pragma once
// Public keys for RS256 and ES256 JWTs, from a JSON Web Key Set (RFC 7517) read from a file or fetched over
// HTTP(S), kept in memory and refreshed: periodically, and when a token names a key id (kid) the set does not hold
// (key rotation), at most once per min_refresh_interval so that tokens with made-up kids cannot make the gateway
// hammer the identity provider. A failed refresh keeps the keys it had.
//
// Keys: RSA (n, e; at least 2048 bits) for RS256 and EC P-256 (crv, x, y; the point is checked) for ES256. A JWK
// whose "use" is not "sig", whose "alg" names another algorithm, or whose type is unsupported is skipped; a
// malformed one fails the whole document. OpenSSL stays inside jwks.cpp.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace crm::gateway {

enum class JwtAlgorithm { kHS256, kRS256, kES256 };

const char* JwtAlgorithmName(JwtAlgorithm alg);                        // "HS256", "RS256", "ES256"
std::optional<JwtAlgorithm> ParseJwtAlgorithm(std::string_view name);  // exact, case-sensitive

class PublicKey {
  public:
    struct Impl;
    explicit PublicKey(std::unique_ptr<Impl> impl);
    ~PublicKey();
    PublicKey(const PublicKey&) = delete;
    PublicKey& operator=(const PublicKey&) = delete;

    // True when this key may verify `alg` (type and the JWK's own "alg", if it named one) and the signature over
    // `input` verifies. ES256 signatures are the JWS form: r || s, 32 bytes each.
    bool Verify(JwtAlgorithm alg, std::string_view input, std::string_view signature) const;
    bool Supports(JwtAlgorithm alg) const;

  private:
    std::unique_ptr<Impl> impl_;
};

struct JwksKey {
    std::string kid;  // may be empty
    std::shared_ptr<const PublicKey> key;
};

// Parses a JWKS document ({"keys": [...]}, at most 64 keys). Throws std::invalid_argument naming the problem.
std::vector<JwksKey> ParseJwks(std::string_view document);

// GET over HTTP(S) with libcurl: follows no redirects, verifies TLS peers, bounded by `timeout` and `max_bytes`;
// throws std::runtime_error on a transport error or a status other than 200.
std::string HttpGet(const std::string& url, std::chrono::milliseconds timeout, size_t max_bytes);

// Where an issuer's keys come from, as the verifier sees it.
class JwtKeySource {
  public:
    virtual ~JwtKeySource() = default;
    // The key for `kid` that supports `alg`; with an empty kid, the only such key when there is exactly one. Null
    // when there is none (after a refresh, when one is due).
    virtual std::shared_ptr<const PublicKey> Find(std::string_view kid, JwtAlgorithm alg) = 0;
};

struct JwksSettings {
    std::string source;  // "https://idp/.well-known/jwks.json", "http://...", "file:/path" or "/path"
    std::chrono::seconds refresh_interval{300};
    std::chrono::seconds min_refresh_interval{10};  // bound on refreshes caused by unknown kids
    std::chrono::milliseconds fetch_timeout{2000};
    size_t max_bytes = 1 << 20;
};

class JwksCache final : public JwtKeySource {
  public:
    // Called after every refresh attempt: whether it worked, how many keys are now loaded, and why not.
    using Observer = std::function<void(bool ok, size_t keys, const std::string& error)>;

    // Throws std::invalid_argument when the source is neither a URL nor a path, or an interval is not positive.
    explicit JwksCache(JwksSettings settings, Observer observer = {});
    ~JwksCache() override;  // stops the refresher
    JwksCache(const JwksCache&) = delete;
    JwksCache& operator=(const JwksCache&) = delete;

    // Before StartRefresher and the first Refresh only.
    void SetObserver(Observer observer) { observer_ = std::move(observer); }

    // Loads the set now; on failure keeps the keys it had and returns false (the error goes to the observer).
    bool Refresh();

    // Refreshes every refresh_interval on a thread of its own until destruction.
    void StartRefresher();

    std::shared_ptr<const PublicKey> Find(std::string_view kid, JwtAlgorithm alg) override;

    size_t size() const;
    const JwksSettings& settings() const { return settings_; }

  private:
    std::shared_ptr<const PublicKey> Lookup(std::string_view kid, JwtAlgorithm alg) const;
    bool RefreshLocked();  // refresh_mutex_ held

    JwksSettings settings_;
    Observer observer_;
    mutable std::mutex keys_mutex_;
    std::shared_ptr<const std::vector<JwksKey>> keys_;
    std::mutex refresh_mutex_;  // one refresh at a time
    std::chrono::steady_clock::time_point last_attempt_{};
    bool attempted_ = false;

    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread refresher_;
};

}  // namespace crm::gateway
