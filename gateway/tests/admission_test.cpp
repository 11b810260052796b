// The admission component without any transport: a header list in, a decision out. A fake limiter stands in for
// Redis (redis_limiter_test.cpp tests the real one). Calls come from several threads at once, as the HTTP server's
// worker threads and the gRPC callback threads will make them.
#include "policy/admission.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "crm/common/crypto.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/public_token.hpp"
#include "fakes.hpp"

using namespace std::chrono_literals;
using crm::gateway::Admission;
using crm::gateway::AdmissionRequest;
using crm::gateway::AdmissionSettings;
using crm::gateway::LimitDecision;
using crm::gateway::LimitQuery;
using crm::gateway::Metadata;
using nlohmann::json;

namespace {

const bool kQuietLogs = [] {
    crm::common::log::Init("gateway-test", crm::common::log::Level::kWarn);
    return true;
}();

const std::string kJwtSecret = "jwt-secret-0123456789abcdef-0123456789";
const std::string kInternalKey = "internal-key-0123456789abcdef-012345";
const std::string kTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string Mint(json claims = json::object()) { return crm::gateway::testing::MintHs256(kJwtSecret, claims); }

using FakeLimiter = crm::gateway::testing::RecordingLimiter;

const char kPolicy[] = R"({
  "rules": [
    {"roles": ["admin", "sales_rep"], "methods": ["crm.contacts.v1.*"]},
    {"roles": ["read_only"], "methods": ["crm.contacts.v1.ContactsService/GetContact"]}
  ],
  "rate_limits": {"plans": {"gold": "7:9"}, "tenants": {"acme": "gold"}},
  "public_tokens": [{"purpose": "survey", "methods": ["crm.contacts.v1.ContactsService/GetCompany"],
                     "rate_limit": "2:4"}]
})";

struct Fixture {
    crm::common::Metrics metrics{"gateway-test"};
    std::shared_ptr<FakeLimiter> limiter = std::make_shared<FakeLimiter>();
    std::unique_ptr<Admission> admission;

    explicit Fixture(crm::gateway::FailMode mode = crm::gateway::FailMode::kOpen) {
        AdmissionSettings s;
        s.jwt = {kJwtSecret, "crm-local", "crm-api", 30s, {}};
        s.internal_key = kInternalKey;
        s.policy = crm::gateway::Policy::Parse(kPolicy);
        s.limiter = limiter;
        s.fail_mode = mode;
        admission = std::make_unique<Admission>(std::move(s), metrics);
    }

    crm::gateway::AdmissionResult Admit(const std::string& method, const Metadata& headers) {
        return admission->Admit(AdmissionRequest{method, crm::gateway::LookupIn(headers), "ipv4:127.0.0.1:1"},
                                std::chrono::system_clock::now());
    }
};

std::map<std::string, std::string> AsMap(const Metadata& md) { return {md.begin(), md.end()}; }

const std::string kGet = "crm.contacts.v1.ContactsService/GetContact";

}  // namespace

TEST_CASE("admitted: the verified identity, the request id and the signed backend metadata") {
    Fixture f;
    const auto r = f.Admit(kGet, {{"authorization", "Bearer " + Mint({{"jti", "j-1"}})},
                                  {"x-request-id", "req-42"},
                                  {"traceparent", kTrace},
                                  {"x-crm-tenant", "evil"}});
    REQUIRE(r.admitted());
    CHECK(r.request_id == "req-42");
    CHECK(r.credential == "jwt");
    CHECK(r.identity.tenant_id == "acme");
    CHECK(r.identity.user_id == "user-1");
    CHECK(r.identity.roles == std::vector<std::string>{"sales_rep"});
    CHECK(r.traceparent == kTrace);
    CHECK(r.labels.service == "crm.contacts.v1.ContactsService");
    // The backend verifies what the gateway signed; the client's x-crm-tenant never reaches it.
    const auto md = AsMap(r.backend_metadata);
    const auto identity = crm::common::VerifyIdentity(md, kInternalKey, std::chrono::system_clock::now());
    CHECK(identity.tenant_id == "acme");
    CHECK(identity.request_id == "req-42");
    CHECK(md.at("traceparent") == kTrace);
    CHECK(md.count("authorization") == 0);
    // One limiter round trip: the jti and the tenant's bucket with its plan.
    REQUIRE(f.limiter->Queries().size() == 1);
    CHECK(f.limiter->Queries()[0].revoked_key == "crm:revoked:jti:j-1");
    REQUIRE(f.limiter->Queries()[0].buckets.size() == 1);
    CHECK(f.limiter->Queries()[0].buckets[0].limit == crm::gateway::RateLimit{7, 9});
}

TEST_CASE("the method may be given with or without its leading slash") {
    Fixture f;
    const Metadata h{{"authorization", "Bearer " + Mint()}};
    CHECK(f.Admit("/" + kGet, h).admitted());
    CHECK(f.Admit(kGet, h).admitted());
    const auto bad = f.Admit("not a method", h);
    REQUIRE_FALSE(bad.admitted());
    CHECK(bad.refusal->code == grpc::StatusCode::UNIMPLEMENTED);
}

TEST_CASE("refusals carry the code, the client message and a stable reason") {
    Fixture f;
    SECTION("no credential") {
        const auto r = f.Admit(kGet, {});
        REQUIRE_FALSE(r.admitted());
        CHECK(r.refusal->code == grpc::StatusCode::UNAUTHENTICATED);
        CHECK(r.refusal->message == "missing bearer token");
        CHECK(r.auth_failure == "missing_token");
        CHECK(crm::common::IsUuid(r.request_id));
        CHECK(r.backend_metadata.empty());
    }
    SECTION("two authorization headers") {
        const auto r = f.Admit(kGet, {{"authorization", "Bearer " + Mint()}, {"authorization", "Bearer " + Mint()}});
        REQUIRE_FALSE(r.admitted());
        CHECK(r.refusal->code == grpc::StatusCode::UNAUTHENTICATED);
        CHECK(r.auth_failure == "malformed");
    }
    SECTION("a forged token") {
        // A character inside the signature (the last one also carries padding bits: changing only those makes the
        // token non-canonical base64url, a different failure).
        std::string token = Mint();
        char& c = token[token.size() - 10];
        c = c == 'A' ? 'B' : 'A';
        const auto r = f.Admit(kGet, {{"authorization", "Bearer " + token}});
        REQUIRE_FALSE(r.admitted());
        CHECK(r.refusal->code == grpc::StatusCode::UNAUTHENTICATED);
        CHECK(r.refusal->message == "invalid or expired token");
        CHECK(r.auth_failure == "bad_signature");
        CHECK(f.limiter->Queries().empty());
    }
    SECTION("a role the policy does not grant") {
        const auto r = f.Admit("crm.contacts.v1.ContactsService/DeleteContact",
                               {{"authorization", "Bearer " + Mint({{"roles", {"read_only"}}})}});
        REQUIRE_FALSE(r.admitted());
        CHECK(r.refusal->code == grpc::StatusCode::PERMISSION_DENIED);
        CHECK(r.refusal->reason == "PERMISSION_DENIED");
        CHECK(r.identity.tenant_id == "acme");  // authenticated: the log names the caller
    }
    SECTION("revoked beats not permitted") {
        f.limiter->SetNext(LimitDecision::Revoked());
        const auto r = f.Admit("crm.contacts.v1.ContactsService/DeleteContact",
                               {{"authorization", "Bearer " + Mint({{"roles", {"read_only"}}, {"jti", "j"}})}});
        REQUIRE_FALSE(r.admitted());
        CHECK(r.refusal->code == grpc::StatusCode::UNAUTHENTICATED);
        CHECK(r.refusal->reason == "TOKEN_REVOKED");
        CHECK(r.auth_failure == "revoked");
    }
    SECTION("rate limited") {
        f.limiter->SetNext(LimitDecision::RateLimited(2500ms));
        const auto r = f.Admit(kGet, {{"authorization", "Bearer " + Mint()}});
        REQUIRE_FALSE(r.admitted());
        CHECK(r.refusal->code == grpc::StatusCode::RESOURCE_EXHAUSTED);
        CHECK(r.refusal->reason == "RATE_LIMITED");
        CHECK(r.refusal->retry_after == 2500ms);
        CHECK(r.refusal->RetryAfterSeconds() == 3);
    }
}

TEST_CASE("limiter unavailable: open mode admits, closed mode refuses UNAVAILABLE") {
    Fixture open(crm::gateway::FailMode::kOpen);
    open.limiter->SetNext(LimitDecision::Unavailable("down"));
    const auto a = open.Admit(kGet, {{"authorization", "Bearer " + Mint()}});
    CHECK(a.admitted());
    CHECK(a.limiter_error == "down");

    Fixture closed(crm::gateway::FailMode::kClosed);
    closed.limiter->SetNext(LimitDecision::Unavailable("down"));
    const auto r = closed.Admit(kGet, {{"authorization", "Bearer " + Mint()}});
    REQUIRE_FALSE(r.admitted());
    CHECK(r.refusal->code == grpc::StatusCode::UNAVAILABLE);
    CHECK(r.refusal->reason == "RATE_LIMITER_UNAVAILABLE");
}

TEST_CASE("admission is usable from many threads at once") {
    Fixture f;
    const std::string good = Mint();
    std::atomic<int> admitted{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                const Metadata h{{"authorization", "Bearer " + (i % 2 == 0 ? good : std::string("x.y.z"))},
                                 {"x-request-id", "t" + std::to_string(t) + "-" + std::to_string(i)}};
                const auto r = f.Admit(kGet, h);
                if (r.request_id != h[1].second) refused += 1000;  // never someone else's id
                (r.admitted() ? admitted : refused)++;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(admitted == 800);
    CHECK(refused == 800);
    CHECK(f.limiter->Queries().size() == 800);
}

TEST_CASE("RecordCall counts by service, method and code") {
    Fixture f;
    const auto r = f.Admit(kGet, {{"authorization", "Bearer " + Mint()}});
    f.admission->RecordCall({.admission = &r,
                             .method = kGet,
                             .peer = "ipv4:127.0.0.1:1",
                             .transport = "http",
                             .code = grpc::StatusCode::NOT_FOUND,
                             .duration = 3ms,
                             .upstream = {},
                             .upstream_error = {}});
    double value = 0;
    for (const auto& fam : f.metrics.registry().Collect()) {
        if (fam.name != "crm_gateway_requests_total") continue;
        for (const auto& m : fam.metric) {
            std::map<std::string, std::string> labels;
            for (const auto& l : m.label) labels[l.name] = l.value;
            if (labels["service"] == "crm.contacts.v1.ContactsService" && labels["method"] == "GetContact" &&
                labels["code"] == "NOT_FOUND") {
                value = m.counter.value;
            }
        }
    }
    CHECK(value == 1);
}

TEST_CASE("a public token admits its purpose's methods for its tenant with the role public, and nothing else") {
    Fixture f;
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string token = crm::common::SignPublicToken("survey", {"globex", {"case-7"}, now + 60}, kInternalKey);
    const std::string kGetCompany = "crm.contacts.v1.ContactsService/GetCompany";
    const auto r = f.Admit(kGetCompany, {{"x-crm-public-token", token}, {"x-crm-tenant", "evil"}});
    REQUIRE(r.admitted());
    CHECK(r.credential == "public_token");
    CHECK(r.identity.tenant_id == "globex");
    CHECK(r.identity.user_id == "public:survey");
    CHECK(r.identity.roles == std::vector<std::string>{"public"});
    const auto md = AsMap(r.backend_metadata);
    CHECK(md.count("x-crm-public-token") == 0);
    CHECK(crm::common::VerifyIdentity(md, kInternalKey, std::chrono::system_clock::now()).tenant_id == "globex");
    // Its own bucket per tenant and purpose; no revocation key, no draw on the tenant's API budget.
    REQUIRE(f.limiter->Queries().size() == 1);
    CHECK(f.limiter->Queries()[0].revoked_key.empty());
    REQUIRE(f.limiter->Queries()[0].buckets.size() == 1);
    CHECK(f.limiter->Queries()[0].buckets[0].key == "crm:ratelimit:public:survey:globex");
    CHECK(f.limiter->Queries()[0].buckets[0].limit == crm::gateway::RateLimit{2, 4});

    // The same token on a method of no purpose, a token of another purpose, a forged or expired one: refused.
    CHECK(f.Admit(kGet, {{"x-crm-public-token", token}}).refusal->code == grpc::StatusCode::UNAUTHENTICATED);
    const std::string other = crm::common::SignPublicToken("tracked-link", {"globex", {}, 0}, kInternalKey);
    CHECK(f.Admit(kGetCompany, {{"x-crm-public-token", other}}).refusal->code == grpc::StatusCode::UNAUTHENTICATED);
    const std::string expired = crm::common::SignPublicToken("survey", {"globex", {}, now - 5}, kInternalKey);
    const auto old = f.Admit(kGetCompany, {{"x-crm-public-token", expired}});
    REQUIRE_FALSE(old.admitted());
    CHECK(old.auth_failure == "expired");
    const std::string bad_tenant = crm::common::SignPublicToken("survey", {"Not A Tenant", {}, 0}, kInternalKey);
    CHECK_FALSE(f.Admit(kGetCompany, {{"x-crm-public-token", bad_tenant}}).admitted());
    // Two credentials, or two tokens: refused, never guessed.
    CHECK_FALSE(
        f.Admit(kGetCompany, {{"x-crm-public-token", token}, {"authorization", "Bearer " + Mint()}}).admitted());
    CHECK_FALSE(f.Admit(kGetCompany, {{"x-crm-public-token", token}, {"x-crm-public-token", token}}).admitted());
    // The method still serves callers with a credential, by their roles.
    CHECK(f.Admit(kGetCompany, {{"authorization", "Bearer " + Mint()}}).admitted());
    CHECK(f.limiter->Queries().size() == 2);  // refused tokens never reached the limiter
}
