// API keys through the running gateway and its own database: an admin creates a key (shown once, stored as a hash),
// the key calls a service with its roles, bad input and other tenants are refused, retries are idempotent, the key's
// own rate limit applies, last use is recorded in batches, and a revocation takes effect on the next call.
#include <crm/gateway/v1/api_keys.grpc.pb.h>

#include <catch2/catch.hpp>
#include <thread>

#include "../support/contacts_client.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace gv1 = crm::gateway::v1;

namespace {

template <class Resp>
struct Reply {
    grpc::Status status;
    Resp response;
};

class KeysClient {
  public:
    explicit KeysClient(std::string token, std::map<std::string, std::string> extra = {})
        : token_(std::move(token)), extra_(std::move(extra)), stub_(gv1::ApiKeysService::NewStub(GatewayChannel())) {}

#define CRM_KEYS_RPC(Name)                                           \
    Reply<gv1::Name##Response> Name(const gv1::Name##Request& req) { \
        Reply<gv1::Name##Response> r;                                \
        grpc::ClientContext ctx;                                     \
        Prepare(ctx, token_, extra_);                                \
        r.status = stub_->Name(&ctx, req, &r.response);              \
        return r;                                                    \
    }
    CRM_KEYS_RPC(CreateApiKey)
    CRM_KEYS_RPC(GetApiKey)
    CRM_KEYS_RPC(ListApiKeys)
    CRM_KEYS_RPC(RevokeApiKey)
#undef CRM_KEYS_RPC

    gv1::CreateApiKeyResponse MustCreate(const std::string& name, std::vector<std::string> roles, double rate = 0,
                                         int burst = 0) {
        gv1::CreateApiKeyRequest req;
        req.mutable_api_key()->set_display_name(name);
        for (auto& r : roles) req.mutable_api_key()->add_roles(r);
        if (burst > 0) {
            req.mutable_api_key()->mutable_rate_limit()->set_rate_per_second(rate);
            req.mutable_api_key()->mutable_rate_limit()->set_burst(burst);
        }
        auto r = CreateApiKey(req);
        REQUIRE(r.status.ok());
        return r.response;
    }

  private:
    std::string token_;
    std::map<std::string, std::string> extra_;
    std::unique_ptr<gv1::ApiKeysService::Stub> stub_;
};

grpc::Status ListWithKey(const std::string& key) {
    ContactsClient api("");
    return api.ListContacts({}, {{"x-api-key", key}}).status;
}

std::string KeyCount(const std::string& tenant) {
    return QueryScalar("gateway", "SELECT count(*) FROM api_keys WHERE tenant_id = '" + tenant + "'");
}

}  // namespace

TEST_CASE("gateway API keys: created by an admin, shown once, stored as a hash, used with the key's roles",
          "[integration][gateway][api_keys]") {
    const std::string tenant = UniqueTenant();
    KeysClient admin(TokenFor(tenant, {"admin"}));
    const auto created = admin.MustCreate("reporting export", {"read_only"});
    const std::string key = created.key();
    REQUIRE(key.rfind("crm_", 0) == 0);
    CHECK(created.api_key().roles_size() == 1);
    CHECK(created.api_key().creator() == "test-user");
    CHECK(key.substr(0, 12) == created.api_key().key_prefix());

    // Only the SHA-256 of the secret is stored; the key itself appears nowhere in the row.
    const std::string secret = key.substr(4 + 32 + 1);  // crm_ + key id + _ (the secret may hold '_' too)
    CHECK(QueryScalar("gateway", "SELECT encode(secret_sha256, 'hex') FROM api_keys WHERE id = '" +
                                     created.api_key().id() + "'") ==
          QueryScalar("gateway", "SELECT encode(sha256(convert_to('" + secret + "', 'UTF8')), 'hex')"));
    CHECK(QueryScalar("gateway", "SELECT count(*) FROM api_keys WHERE api_keys::text LIKE '%" + secret + "%'") == "0");

    // Get returns the metadata, never a secret.
    gv1::GetApiKeyRequest get;
    get.set_id(created.api_key().id());
    auto got = admin.GetApiKey(get);
    REQUIRE(got.status.ok());
    CHECK(got.response.api_key().display_name() == "reporting export");

    // The key reads contacts of its tenant (the identity reaches the service), and nothing its roles do not grant.
    ContactsClient owner(TokenFor(tenant));
    cv1::CreateContactRequest create;
    create.mutable_contact()->set_given_name("Keyed");
    create.mutable_contact()->set_family_name("Reader");
    REQUIRE(owner.CreateContact(create).ok());
    ContactsClient api("");
    auto listed = api.ListContacts({}, {{"x-api-key", key}});
    REQUIRE(listed.ok());
    CHECK(listed.response.contacts_size() == 1);
    CHECK(api.CreateContact(create, {{"x-api-key", key}}).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    KeysClient as_key("", {{"x-api-key", key}});
    CHECK(as_key.ListApiKeys({}).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);

    // A wrong secret under a real key id, an unknown key, a key plus a token: UNAUTHENTICATED.
    std::string wrong = key;
    wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
    CHECK(ListWithKey(wrong).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(ListWithKey("crm_00000000000000000000000000000000_" + secret).error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
    CHECK(api.ListContacts({}, {{"x-api-key", key}, {"authorization", "Bearer " + TokenFor(tenant)}})
              .status.error_code() == grpc::StatusCode::UNAUTHENTICATED);

    // last_use_time is written in batches (every second in the stack).
    bool recorded = false;
    for (int i = 0; i < 50 && !recorded; ++i) {
        auto again = admin.GetApiKey(get);
        recorded = again.status.ok() && again.response.api_key().has_last_use_time();
        if (!recorded) std::this_thread::sleep_for(200ms);
    }
    CHECK(recorded);
}

TEST_CASE("gateway API keys: bad input changes nothing, only admins of the tenant manage keys",
          "[integration][gateway][api_keys]") {
    const std::string tenant = UniqueTenant();
    KeysClient admin(TokenFor(tenant, {"admin"}));
    gv1::CreateApiKeyRequest bad;
    bad.mutable_api_key()->add_roles("admin");
    bad.mutable_api_key()->add_roles("superuser");
    bad.mutable_api_key()->mutable_rate_limit()->set_burst(-1);
    auto r = admin.CreateApiKey(bad);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(r.status, "api_key.display_name"));
    CHECK(HasViolation(r.status, "api_key.roles"));
    CHECK(HasViolation(r.status, "api_key.rate_limit.burst"));
    CHECK(KeyCount(tenant) == "0");

    gv1::GetApiKeyRequest get;
    get.set_id("not-a-uuid");
    CHECK(admin.GetApiKey(get).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);

    gv1::CreateApiKeyRequest good;
    good.mutable_api_key()->set_display_name("x");
    good.mutable_api_key()->add_roles("read_only");
    for (const char* role : {"sales_manager", "read_only", "web_form"}) {
        CAPTURE(role);
        KeysClient user(TokenFor(tenant, {role}));
        CHECK(user.CreateApiKey(good).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        CHECK(user.ListApiKeys({}).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    }
    CHECK(KeyCount(tenant) == "0");

    // Another tenant's admin: the key id is NOT_FOUND, its list does not show it, revoking it does nothing.
    const auto created = admin.MustCreate("mine", {"read_only"});
    KeysClient stranger(TokenFor(UniqueTenant(), {"admin"}));
    get.set_id(created.api_key().id());
    CHECK(stranger.GetApiKey(get).status.error_code() == grpc::StatusCode::NOT_FOUND);
    gv1::RevokeApiKeyRequest revoke;
    revoke.set_id(created.api_key().id());
    CHECK(stranger.RevokeApiKey(revoke).status.error_code() == grpc::StatusCode::NOT_FOUND);
    auto theirs = stranger.ListApiKeys({});
    REQUIRE(theirs.status.ok());
    CHECK(theirs.response.api_keys_size() == 0);
    CHECK(ListWithKey(created.key()).ok());
}

TEST_CASE("gateway API keys: a retried create returns the same key once, paging and active_only",
          "[integration][gateway][api_keys]") {
    const std::string tenant = UniqueTenant();
    KeysClient admin(TokenFor(tenant, {"admin"}));
    gv1::CreateApiKeyRequest req;
    req.mutable_api_key()->set_display_name("retried");
    req.mutable_api_key()->add_roles("web_form");
    req.set_request_id(crm::common::NewUuid());
    auto first = admin.CreateApiKey(req);
    auto second = admin.CreateApiKey(req);
    REQUIRE(first.status.ok());
    REQUIRE(second.status.ok());
    CHECK(first.response.api_key().id() == second.response.api_key().id());
    CHECK_FALSE(first.response.key().empty());
    CHECK(second.response.key().empty());  // the secret is shown once
    CHECK(KeyCount(tenant) == "1");

    admin.MustCreate("b", {"read_only"});
    const auto c = admin.MustCreate("c", {"analyst"});
    gv1::RevokeApiKeyRequest revoke;
    revoke.set_id(c.api_key().id());
    REQUIRE(admin.RevokeApiKey(revoke).status.ok());

    gv1::ListApiKeysRequest list;
    list.set_page_size(2);
    auto page1 = admin.ListApiKeys(list);
    REQUIRE(page1.status.ok());
    REQUIRE(page1.response.api_keys_size() == 2);
    CHECK(page1.response.api_keys(0).display_name() == "c");  // newest first
    REQUIRE_FALSE(page1.response.next_page_token().empty());
    list.set_page_token(page1.response.next_page_token());
    auto page2 = admin.ListApiKeys(list);
    REQUIRE(page2.status.ok());
    REQUIRE(page2.response.api_keys_size() == 1);
    CHECK(page2.response.api_keys(0).display_name() == "retried");
    CHECK(page2.response.next_page_token().empty());
    // The token belongs to its filter.
    list.set_active_only(true);
    CHECK(admin.ListApiKeys(list).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    gv1::ListApiKeysRequest active;
    active.set_active_only(true);
    auto act = admin.ListApiKeys(active);
    REQUIRE(act.status.ok());
    CHECK(act.response.api_keys_size() == 2);
}

TEST_CASE("gateway API keys: a revoked key is refused from the next call on", "[integration][gateway][api_keys]") {
    const std::string tenant = UniqueTenant();
    KeysClient admin(TokenFor(tenant, {"admin"}));
    const auto created = admin.MustCreate("to revoke", {"read_only"});
    const auto kept = admin.MustCreate("to keep", {"read_only"});
    REQUIRE(ListWithKey(created.key()).ok());  // now cached by the gateway

    gv1::RevokeApiKeyRequest revoke;
    revoke.set_id(created.api_key().id());
    auto r = admin.RevokeApiKey(revoke);
    REQUIRE(r.status.ok());
    CHECK(r.response.api_key().has_revoke_time());
    const grpc::Status refused = ListWithKey(created.key());
    CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(ErrorReason(refused) == "API_KEY_REVOKED");
    CHECK(ListWithKey(kept.key()).ok());
    // Revoking again changes nothing.
    auto again = admin.RevokeApiKey(revoke);
    REQUIRE(again.status.ok());
    CHECK(again.response.api_key().revoke_time().seconds() == r.response.api_key().revoke_time().seconds());
}

TEST_CASE("gateway API keys: the key's own rate limit applies besides the tenant's",
          "[integration][gateway][api_keys]") {
    const std::string tenant = UniqueTenant();
    KeysClient admin(TokenFor(tenant, {"admin"}));
    const auto limited = admin.MustCreate("tight", {"read_only"}, 0.05, 3);
    int ok = 0, exhausted = 0;
    for (int i = 0; i < 5; ++i) {
        const auto s = ListWithKey(limited.key());
        if (s.ok()) ++ok;
        if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++exhausted;
    }
    CHECK(ok == 3);
    CHECK(exhausted == 2);
    // The tenant's other callers are not limited by the key's bucket.
    ContactsClient owner(TokenFor(tenant));
    CHECK(owner.ListContacts({}).ok());
}
