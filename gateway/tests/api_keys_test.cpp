// API keys without a database: the key format, the cache (TTL, misses, invalidation), batched last-use writes, and
// the admission of calls made with a key (a fake store and limiter).
#include "authentication/api_keys.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "crm/common/crypto.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "fakes.hpp"
#include "policy/admission.hpp"

using namespace std::chrono_literals;
using crm::gateway::ApiKeyRecord;
using crm::gateway::CachedApiKeyStore;
using crm::gateway::LimitDecision;
using crm::gateway::LimitQuery;
using crm::gateway::Metadata;

namespace {

const bool kQuietLogs = [] {
    crm::common::log::Init("gateway-test", crm::common::log::Level::kError);
    return true;
}();

using Uses = std::map<std::pair<std::string, std::string>, std::chrono::system_clock::time_point>;

using FakeLimiter = crm::gateway::testing::RecordingLimiter;

}  // namespace

TEST_CASE("API keys: format, 256-bit secrets, only the hash kept") {
    const auto a = crm::gateway::GenerateApiKey();
    const auto b = crm::gateway::GenerateApiKey();
    CHECK(a.key != b.key);
    CHECK(a.key.size() == 4 + 32 + 1 + 43);
    CHECK(a.key.rfind("crm_", 0) == 0);
    const auto parsed = crm::gateway::ParseApiKey(a.key);
    REQUIRE(parsed);
    CHECK(parsed->id == a.id);
    CHECK(crm::common::IsUuid(parsed->id));
    CHECK(crm::common::Base64UrlDecode(parsed->secret).size() == 32);
    CHECK(crm::gateway::ApiKeySecretHash(parsed->secret) == a.secret_sha256);
    CHECK(a.secret_sha256.size() == 32);
    CHECK(a.key.find(crm::common::Base64UrlEncode(a.secret_sha256)) == std::string::npos);
    CHECK(crm::gateway::ApiKeyPrefix(a.id) == a.key.substr(0, 12));

    for (const std::string& bad :
         {std::string(), std::string("crm_"), a.key.substr(1), a.key + "x", "CRM_" + a.key.substr(4),
          a.key.substr(0, 20) + "G" + a.key.substr(21), a.key.substr(0, 36) + "-" + a.key.substr(37),
          a.key.substr(0, 50) + "+" + a.key.substr(51)}) {
        CAPTURE(bad);
        CHECK_FALSE(crm::gateway::ParseApiKey(bad));
    }
}

TEST_CASE("API keys: roles are known roles, never admin") {
    CHECK(crm::gateway::ApiKeyRoleProblems({"web_form", "read_only"}).empty());
    CHECK(crm::gateway::ApiKeyRoleProblems({"admin"}).size() == 1);
    CHECK(crm::gateway::ApiKeyRoleProblems({"root", "sales_rep", "Admin"}).size() == 2);
}

TEST_CASE("API key cache: hits within the TTL, misses cached too, invalidation, reload after the TTL") {
    int loads = 0;
    std::optional<ApiKeyRecord> stored = ApiKeyRecord{"acme", "id-1", std::string(32, 'h'), {"read_only"}, {}, false};
    CachedApiKeyStore store(
        {200ms, 1000, 1000ms},
        [&](const std::string& id) -> std::optional<ApiKeyRecord> {
            ++loads;
            if (id == "id-1") return stored;
            return std::nullopt;
        },
        [](const Uses&) {});
    CHECK(store.Find("id-1")->tenant_id == "acme");
    CHECK(store.Find("id-1"));
    CHECK(loads == 1);
    CHECK_FALSE(store.Find("nope"));
    CHECK_FALSE(store.Find("nope"));
    CHECK(loads == 2);  // the miss is cached as well: random key ids cannot hammer the database
    stored->revoked = true;
    CHECK_FALSE(store.Find("id-1")->revoked);  // still the cached copy
    store.Invalidate("id-1");
    CHECK(store.Find("id-1")->revoked);  // this replica sees its own revocation at once
    stored->roles = {"analyst"};
    std::this_thread::sleep_for(250ms);
    CHECK(store.Find("id-1")->roles == std::vector<std::string>{"analyst"});  // others after the TTL
}

TEST_CASE("API key cache: a failing database is not cached") {
    bool down = true;
    CachedApiKeyStore store(
        {10s, 1000, 1000ms},
        [&](const std::string&) -> std::optional<ApiKeyRecord> {
            if (down) throw std::runtime_error("db down");
            return ApiKeyRecord{"acme", "k", std::string(32, 'h'), {"read_only"}, {}, false};
        },
        [](const Uses&) {});
    CHECK_THROWS_AS(store.Find("k"), std::runtime_error);
    down = false;
    CHECK(store.Find("k"));
}

TEST_CASE("last uses are written in batches, the latest per key, and kept when the write fails") {
    std::vector<Uses> batches;
    bool fail = false;
    CachedApiKeyStore store(
        {1s, 1000, 1000ms}, [](const std::string&) { return std::nullopt; },
        [&](const Uses& u) {
            if (fail) throw std::runtime_error("db down");
            batches.push_back(u);
        });
    CHECK(store.Flush() == 0);
    for (int i = 0; i < 100; ++i) store.Used("acme", "k1");
    store.Used("acme", "k2");
    store.Used("globex", "k3");
    CHECK(batches.empty());  // nothing written on the call path
    CHECK(store.Flush() == 3);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].size() == 3);
    fail = true;
    store.Used("acme", "k1");
    CHECK_THROWS(store.Flush());
    fail = false;
    CHECK(store.Flush() == 1);
    CHECK(batches.size() == 2);
}

TEST_CASE("admission with an API key: identity with the key id, the key's bucket, revocation marker, refusals") {
    const auto key = crm::gateway::GenerateApiKey();
    const auto other = crm::gateway::GenerateApiKey();
    ApiKeyRecord record{"acme", key.id, key.secret_sha256, {"read_only"}, crm::gateway::RateLimit{2, 3}, false};
    std::vector<Uses> written;
    auto store = std::make_shared<CachedApiKeyStore>(
        crm::gateway::ApiKeyCacheSettings{10s, 1000, 1000ms},
        [&](const std::string& id) -> std::optional<ApiKeyRecord> {
            if (id == key.id) return record;
            return std::nullopt;
        },
        [&](const Uses& u) { written.push_back(u); });
    auto limiter = std::make_shared<FakeLimiter>();
    crm::common::Metrics metrics{"gateway-test"};
    crm::gateway::AdmissionSettings s;
    s.jwt = {"jwt-secret-0123456789abcdef-0123456789", "crm-local", "crm-api", 30s, {}};
    s.internal_key = "internal-key-0123456789abcdef-012345";
    s.policy = crm::gateway::Policy::Parse(R"({"rules": [
        {"roles": ["admin"], "methods": ["*"]},
        {"roles": ["read_only"], "methods": ["crm.contacts.v1.ContactsService/GetContact"]}]})");
    s.limiter = limiter;
    s.api_keys = store;
    crm::gateway::Admission admission(std::move(s), metrics);
    auto admit = [&](const std::string& method, const Metadata& h) {
        return admission.Admit({method, crm::gateway::LookupIn(h), "peer"}, std::chrono::system_clock::now());
    };
    const std::string get = "crm.contacts.v1.ContactsService/GetContact";

    const auto ok = admit(get, {{"x-api-key", key.key}});
    REQUIRE(ok.admitted());
    CHECK(ok.credential == "api_key");
    CHECK(ok.identity.tenant_id == "acme");
    CHECK(ok.identity.key_id == key.id);
    CHECK(ok.identity.user_id == "api-key:" + key.id);
    CHECK(ok.identity.roles == std::vector<std::string>{"read_only"});
    const std::map<std::string, std::string> md(ok.backend_metadata.begin(), ok.backend_metadata.end());
    const auto verified =
        crm::common::VerifyIdentity(md, "internal-key-0123456789abcdef-012345", std::chrono::system_clock::now());
    CHECK(verified.key_id == key.id);
    REQUIRE(limiter->Queries().size() == 1);
    CHECK(limiter->Queries()[0].revoked_key == "crm:revoked:apikey:" + key.id);
    REQUIRE(limiter->Queries()[0].buckets.size() == 2);
    CHECK(limiter->Queries()[0].buckets[0].key == "crm:ratelimit:tenant:acme");
    CHECK(limiter->Queries()[0].buckets[1].key == "crm:ratelimit:key:" + key.id);
    CHECK(limiter->Queries()[0].buckets[1].limit == crm::gateway::RateLimit{2, 3});
    CHECK(store->Flush() == 1);  // the use was noted

    // The key's roles are authorized like a user's.
    const auto denied = admit("crm.contacts.v1.ContactsService/DeleteContact", {{"x-api-key", key.key}});
    REQUIRE_FALSE(denied.admitted());
    CHECK(denied.refusal->code == grpc::StatusCode::PERMISSION_DENIED);

    struct Case {
        Metadata headers;
        std::string failure;
    };
    std::string wrong_secret = key.key;
    wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
    for (const auto& c :
         std::vector<Case>{{{{"x-api-key", "not-a-key"}}, "malformed"},
                           {{{"x-api-key", other.key}}, "unknown_key"},
                           {{{"x-api-key", wrong_secret}}, "bad_signature"},
                           {{{"x-api-key", key.key}, {"x-api-key", key.key}}, "malformed"},
                           {{{"x-api-key", key.key}, {"authorization", "Bearer x.y.z"}}, "malformed"}}) {
        CAPTURE(c.failure);
        const auto r = admit(get, c.headers);
        REQUIRE_FALSE(r.admitted());
        CHECK(r.refusal->code == grpc::StatusCode::UNAUTHENTICATED);
        CHECK(r.refusal->message == "invalid API key");
        CHECK(r.auth_failure == c.failure);
        CHECK(r.identity.tenant_id.empty());
    }

    // Revoked: by the marker in Redis (other replicas) or by the row (after the cache reloaded it).
    limiter->SetNext(LimitDecision::Revoked());
    auto revoked = admit(get, {{"x-api-key", key.key}});
    REQUIRE_FALSE(revoked.admitted());
    CHECK(revoked.refusal->reason == "API_KEY_REVOKED");
    limiter->SetNext({});
    record.revoked = true;
    store->Invalidate(key.id);
    revoked = admit(get, {{"x-api-key", key.key}});
    REQUIRE_FALSE(revoked.admitted());
    CHECK(revoked.refusal->code == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(revoked.refusal->reason == "API_KEY_REVOKED");
}
