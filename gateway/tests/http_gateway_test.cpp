// The HTTP/JSON server and transcoding gateway in one process: the real HttpServer on a loopback port, the real
// admission component (a fake limiter stands in for Redis), and a fake ContactsService backend over gRPC that echoes
// what it received (the signed identity included). Covers what the stack cannot make happen on demand: a backend
// slower than the deadline (504), refusals of the limiter (429), a backend that never existed (503), every size
// limit, malformed HTTP, keep-alive and CORS.
#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "../../tests/support/http_client.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/public_token.hpp"
#include "fakes.hpp"
#include "http/gateway.hpp"
#include "http/server.hpp"
#include "policy/admission.hpp"

using namespace std::chrono_literals;
using namespace crm::gateway;
using crm::test::HttpClient;
using crm::test::HttpReply;
using nlohmann::json;
namespace cv1 = crm::contacts::v1;

namespace {

const bool kQuietLogs = [] {
    crm::common::log::Init("gateway-http-test", crm::common::log::Level::kError);
    return true;
}();

const std::string kJwtSecret = "jwt-secret-0123456789abcdef-0123456789";
const std::string kInternalKey = "internal-key-0123456789abcdef-012345";

std::string Mint(const std::vector<std::string>& roles = {"admin"}, const std::string& tenant = "acme") {
    return crm::gateway::testing::MintHs256(kJwtSecret, {{"roles", roles}, {"tenant", tenant}});
}

using FakeLimiter = crm::gateway::testing::RecordingLimiter;

// Echoes: GetContact answers a contact whose given_name is the tenant the gateway signed; "slow" sleeps 2 s, "bad"
// fails with field violations. UpdateContact echoes the contact and puts the mask paths into tags.
class Backend final : public cv1::ContactsService::Service {
  public:
    grpc::Status GetContact(grpc::ServerContext* ctx, const cv1::GetContactRequest* req,
                            cv1::GetContactResponse* resp) override {
        std::map<std::string, std::string> md;
        for (const auto& [k, v] : ctx->client_metadata())
            md.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
        crm::common::Identity identity;
        try {
            identity = crm::common::VerifyIdentity(md, kInternalKey, std::chrono::system_clock::now());
        } catch (const std::exception&) {
            return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no identity");
        }
        if (req->id() == "slow") {
            for (int i = 0; i < 40 && !ctx->IsCancelled(); ++i) std::this_thread::sleep_for(50ms);
        }
        if (req->id() == "bad") {
            google::rpc::Status details;
            details.set_code(3);
            details.set_message("invalid id");
            google::rpc::BadRequest bad;
            auto* v = bad.add_field_violations();
            v->set_field("id");
            v->set_description("must be a UUID");
            details.add_details()->PackFrom(bad);
            return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid id", details.SerializeAsString());
        }
        ctx->AddTrailingMetadata("x-backend", "contacts");
        resp->mutable_contact()->set_id(req->id());
        resp->mutable_contact()->set_given_name(identity.tenant_id);
        resp->mutable_contact()->set_version(3);
        return grpc::Status::OK;
    }
    // A public link's landing: the company's name is a URL naming the tenant and roles the gateway signed; for the
    // tenant "tenant-nourl" a name that is no URL.
    grpc::Status GetCompany(grpc::ServerContext* ctx, const cv1::GetCompanyRequest* req,
                            cv1::GetCompanyResponse* resp) override {
        std::map<std::string, std::string> md;
        for (const auto& [k, v] : ctx->client_metadata())
            md.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
        crm::common::Identity identity;
        try {
            identity = crm::common::VerifyIdentity(md, kInternalKey, std::chrono::system_clock::now());
        } catch (const std::exception&) {
            return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no identity");
        }
        std::string roles;
        for (const auto& r : identity.roles) roles += (roles.empty() ? "" : ",") + r;
        resp->mutable_company()->set_id(req->id());
        resp->mutable_company()->set_name(md.count("x-crm-public-token") ? "leaked"
                                          : identity.tenant_id == "tenant-nourl"
                                              ? "not a url"
                                              : "https://landing.example/?tenant=" + identity.tenant_id +
                                                    "&roles=" + roles);
        return grpc::Status::OK;
    }
    grpc::Status UpdateContact(grpc::ServerContext*, const cv1::UpdateContactRequest* req,
                               cv1::UpdateContactResponse* resp) override {
        *resp->mutable_contact() = req->contact();
        for (const auto& p : req->update_mask().paths()) resp->mutable_contact()->add_tags(p);
        resp->mutable_contact()->set_etag(req->etag());
        return grpc::Status::OK;
    }
};

struct Fixture {
    crm::common::Metrics metrics{"gateway-http-test"};
    Backend backend;
    std::unique_ptr<grpc::Server> server;
    std::shared_ptr<FakeLimiter> limiter = std::make_shared<FakeLimiter>();
    std::shared_ptr<HttpGateway> gateway;
    std::unique_ptr<HttpServer> http;
    std::string address;

    explicit Fixture(bool backend_up = true, HttpLimits limits = {}) {
        int port = 0;
        grpc::ServerBuilder builder;
        builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
        builder.RegisterService(&backend);
        server = builder.BuildAndStart();
        REQUIRE(port > 0);
        if (!backend_up) server->Shutdown();  // the port is closed: nothing listens there

        AdmissionSettings a;
        a.jwt = {kJwtSecret, "crm-local", "crm-api", 30s, {}};
        a.internal_key = kInternalKey;
        a.policy = Policy::Parse(R"({"rules": [
            {"roles": ["admin"], "methods": ["*"]},
            {"roles": ["read_only"], "methods": ["crm.contacts.v1.ContactsService/GetContact"]}],
            "public_tokens": [{"purpose": "test-link", "methods": ["crm.contacts.v1.ContactsService/GetCompany"],
                               "token_field": "id", "redirect_field": "company.name", "rate_limit": "3:7"}]})");
        a.limiter = limiter;
        auto admission = std::make_shared<const Admission>(std::move(a), metrics);
        auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
        HttpGatewaySettings g;
        g.cors_origins = {"https://app.example"};
        g.default_deadline = 5s;
        gateway = std::make_shared<HttpGateway>(
            g, HttpRouteTable::FromLinkedDescriptors(), admission,
            [&](std::string_view package) {
                return package == "crm.contacts.v1" ? BackendChannel{channel, "fake"} : BackendChannel{};
            },
            metrics);
        HttpServerSettings s;
        s.listen = "127.0.0.1:0";
        s.limits = limits;
        http = std::make_unique<HttpServer>(s, gateway);
        http->Start();
        address = "127.0.0.1:" + std::to_string(http->port());
    }
    ~Fixture() {
        http->Stop(1s);
        server->Shutdown();
    }

    HttpReply Send(const std::string& method, const std::string& target, const std::string& token,
                   const std::string& body = {}, std::vector<std::pair<std::string, std::string>> headers = {}) {
        HttpClient client(address);
        if (!token.empty()) headers.emplace_back("authorization", "Bearer " + token);
        if (!body.empty()) headers.emplace_back("content-type", "application/json");
        return client.Send(method, target, headers, body);
    }
};

json Body(const HttpReply& r) {
    INFO(r.status << " " << r.body);
    auto j = json::parse(r.body, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

}  // namespace

TEST_CASE("http gateway: a call is admitted, transcoded, forwarded with the signed identity and answered as JSON",
          "[http][gateway]") {
    Fixture f;
    const auto r = f.Send("GET", "/v1/contacts/abc", Mint(), {}, {{"x-request-id", "req-7"}});
    REQUIRE(r.status == 200);
    const json j = Body(r);
    CHECK(j["contact"]["id"] == "abc");
    CHECK(j["contact"]["givenName"] == "acme");  // the tenant the backend verified
    CHECK(j["contact"]["version"] == "3");
    CHECK(r.Header("x-request-id") == "req-7");
    CHECK(r.Header("x-backend") == "contacts");  // backend metadata passes like on the gRPC path
    CHECK(r.Header("content-type") == "application/json");

    const auto u = f.Send("PATCH", "/v1/contacts/c-1?update_mask=givenName,job_title&etag=e-9", Mint(),
                          R"({"givenName":"Ada","jobTitle":"Analyst"})");
    REQUIRE(u.status == 200);
    const json c = Body(u)["contact"];
    CHECK(c["id"] == "c-1");
    CHECK(c["givenName"] == "Ada");
    CHECK(c["tags"] == json::array({"given_name", "job_title"}));
    CHECK(c["etag"] == "e-9");
}

TEST_CASE("http gateway: refusals and backend errors map to HTTP statuses with the JSON error body",
          "[http][gateway]") {
    Fixture f;
    const auto bad = f.Send("GET", "/v1/contacts/bad", Mint());
    CHECK(bad.status == 400);
    CHECK(Body(bad)["error"]["details"][0]["fieldViolations"][0]["field"] == "id");

    const auto none = f.Send("GET", "/v1/contacts/x", "");
    CHECK(none.status == 401);
    CHECK(Body(none)["error"]["status"] == "UNAUTHENTICATED");
    CHECK(f.Send("GET", "/v1/contacts/x", "Bearer-less garbage").status == 401);

    const auto forbidden = f.Send("PATCH", "/v1/contacts/x", Mint({"read_only"}), "{}");
    CHECK(forbidden.status == 403);
    CHECK(Body(forbidden)["error"]["status"] == "PERMISSION_DENIED");
    CHECK(f.Send("GET", "/v1/contacts/x", Mint({"read_only"})).status == 200);

    f.limiter->SetNext(LimitDecision::RateLimited(2500ms));
    const auto limited = f.Send("GET", "/v1/contacts/x", Mint());
    CHECK(limited.status == 429);
    CHECK(limited.Header("retry-after") == "3");
    const json e = Body(limited)["error"];
    CHECK(e["status"] == "RESOURCE_EXHAUSTED");
    bool retry_info = false;
    for (const auto& d : e["details"]) retry_info |= d["@type"] == "type.googleapis.com/google.rpc.RetryInfo";
    CHECK(retry_info);
    f.limiter->SetNext(LimitDecision::Revoked());
    CHECK(f.Send("GET", "/v1/contacts/x", Mint()).status == 401);
}

TEST_CASE("http gateway: deadlines, a backend that is down, a route without a backend", "[http][gateway]") {
    Fixture f;
    const auto t0 = std::chrono::steady_clock::now();
    const auto slow = f.Send("GET", "/v1/contacts/slow", Mint(), {}, {{"x-server-timeout", "0.2"}});
    CHECK(slow.status == 504);
    CHECK(Body(slow)["error"]["status"] == "DEADLINE_EXCEEDED");
    CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
    for (const char* bad : {"0", "-1", "soon", "1e400"}) {
        INFO(bad);
        CHECK(f.Send("GET", "/v1/contacts/x", Mint(), {}, {{"x-server-timeout", bad}}).status == 400);
    }

    Fixture down(false);
    const auto t1 = std::chrono::steady_clock::now();
    const auto unavailable = down.Send("GET", "/v1/contacts/x", Mint());
    CHECK(unavailable.status == 503);
    CHECK(Body(unavailable)["error"]["message"] == "service unavailable, retry later");
    CHECK(std::chrono::steady_clock::now() - t1 < 3s);
}

TEST_CASE("http gateway: size limits, malformed HTTP, unknown routes and keep-alive", "[http][gateway]") {
    HttpLimits limits;
    limits.max_body_bytes = 2048;
    limits.max_url_bytes = 300;
    limits.max_header_bytes = 2048;
    Fixture f(true, limits);
    CHECK(f.Send("PATCH", "/v1/contacts/x", Mint(), "{\"givenName\":\"" + std::string(3000, 'a') + "\"}").status ==
          413);
    CHECK(f.Send("GET", "/v1/contacts/" + std::string(400, 'a'), Mint()).status == 414);
    CHECK(f.Send("GET", "/v1/contacts/x", Mint(), {}, {{"x-filler", std::string(3000, 'b')}}).status == 431);
    HttpClient raw(f.address);
    const auto garbage = raw.SendRaw("NOT HTTP AT ALL\r\n\r\n");
    CHECK(garbage.status == 400);
    CHECK(garbage.closed);
    CHECK(f.Send("GET", "/v1/nothing", Mint()).status == 404);
    const auto wrong = f.Send("PUT", "/v1/contacts/x", Mint(), "{}");
    CHECK(wrong.status == 405);
    CHECK(wrong.Header("allow") == "GET, PATCH, DELETE");
    CHECK(f.Send("PATCH", "/v1/contacts/x", Mint(), "{}", {{"content-type", "text/plain"}}).status == 415);

    // Keep-alive: several calls and errors on one connection; HTTP/1.0 without keep-alive is closed after one.
    HttpClient client(f.address);
    const std::vector<std::pair<std::string, std::string>> auth = {{"authorization", "Bearer " + Mint()}};
    CHECK(client.Send("GET", "/v1/contacts/a", auth).status == 200);
    CHECK(client.Send("GET", "/v1/contacts/bad", auth).status == 400);
    CHECK(client.Send("GET", "/v1/nothing", auth).status == 404);
    CHECK(client.Send("GET", "/v1/contacts/b", auth).status == 200);
    CHECK(client.connections() == 1);
    HttpClient old(f.address);
    const auto once = old.SendRaw("GET /openapi.json HTTP/1.0\r\n\r\n");
    CHECK(once.status == 200);
    CHECK(old.ServerClosed());
}

TEST_CASE("http gateway: CORS preflight and headers, OpenAPI without a credential", "[http][gateway]") {
    Fixture f;
    const auto pre = f.Send("OPTIONS", "/v1/contacts", "", {},
                            {{"origin", "https://app.example"}, {"access-control-request-method", "POST"}});
    CHECK(pre.status == 204);
    CHECK(pre.Header("access-control-allow-origin") == "https://app.example");
    CHECK(pre.Header("access-control-allow-methods") == "POST, GET");
    CHECK(pre.Header("access-control-max-age") == "600");
    CHECK(f.Send("OPTIONS", "/v1/contacts", "", {},
                 {{"origin", "https://evil.example"}, {"access-control-request-method", "POST"}})
              .status == 403);
    CHECK(f.Send("OPTIONS", "/v1/contacts", "", {},
                 {{"origin", "https://app.example"}, {"access-control-request-method", "PUT"}})
              .status == 403);
    const auto actual = f.Send("GET", "/v1/contacts/x", Mint(), {}, {{"origin", "https://app.example"}});
    CHECK(actual.Header("access-control-allow-origin") == "https://app.example");
    CHECK(actual.Header("vary") == "origin");
    CHECK(f.Send("GET", "/v1/contacts/x", Mint(), {}, {{"origin", "https://evil.example"}})
              .Header("access-control-allow-origin")
              .empty());

    const auto doc = f.Send("GET", "/openapi.json", "");
    REQUIRE(doc.status == 200);
    const json j = Body(doc);
    CHECK(j["openapi"] == "3.0.3");
    CHECK(j["paths"]["/v1/contacts/{contact.id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
           ["$ref"] == "#/components/schemas/crm.contacts.v1.Contact");
    bool mask = false;
    for (const auto& p : j["paths"]["/v1/contacts/{contact.id}"]["patch"]["parameters"])
        mask |= p["name"] == "update_mask";
    CHECK(mask);
    CHECK(j["components"]["schemas"]["crm.contacts.v1.Contact"]["properties"]["version"]["type"] == "string");
    CHECK(j["components"]["schemas"]["crm.contacts.v1.Contact"]["properties"]["createTime"]["format"] == "date-time");
}

TEST_CASE("http gateway: a public link is admitted by its signed token alone and answered by a redirect",
          "[http][gateway]") {
    Fixture f;
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string token =
        crm::common::SignPublicToken("test-link", {"tenant-pub", {"campaign-1"}, now + 600}, kInternalKey);
    const auto r = f.Send("GET", "/v1/companies/" + token, "");
    INFO(r.body);
    REQUIRE(r.status == 302);
    // The backend saw the token's tenant and the single role "public"; the token header itself was not forwarded.
    CHECK(r.Header("location") == "https://landing.example/?tenant=tenant-pub&roles=public");
    CHECK(r.Header("cache-control") == "no-store");
    CHECK_FALSE(r.Header("x-request-id").empty());
    // It drew from the purpose's bucket of the tenant, not from the tenant's API budget.
    const auto queries = f.limiter->Queries();
    REQUIRE_FALSE(queries.empty());
    REQUIRE(queries.back().buckets.size() == 1);
    CHECK(queries.back().buckets[0].key == "crm:ratelimit:public:test-link:tenant-pub");
    CHECK(queries.back().buckets[0].limit == RateLimit{3, 7});

    // Forged, moved to another purpose, expired, or sent to a method that takes no public token: 401, nothing reaches
    // the backend's redirect.
    std::string forged = token;
    forged[forged.size() / 3] = forged[forged.size() / 3] == 'A' ? 'B' : 'A';
    CHECK(f.Send("GET", "/v1/companies/" + forged, "").status == 401);
    const std::string other_purpose =
        crm::common::SignPublicToken("unsubscribe", {"tenant-pub", {"campaign-1"}, now + 600}, kInternalKey);
    CHECK(f.Send("GET", "/v1/companies/" + other_purpose, "").status == 401);
    const std::string expired =
        crm::common::SignPublicToken("test-link", {"tenant-pub", {"campaign-1"}, now - 1}, kInternalKey);
    const auto old = f.Send("GET", "/v1/companies/" + expired, "");
    CHECK(old.status == 401);
    CHECK(Body(old)["error"]["message"] == "invalid or expired link");
    CHECK(f.Send("GET", "/v1/contacts/" + token, "").status == 401);
    const std::string wrong_key = crm::common::SignPublicToken("test-link", {"tenant-pub", {}, 0}, "another-key");
    CHECK(f.Send("GET", "/v1/companies/" + wrong_key, "").status == 401);

    // A public token together with another credential is refused rather than guessed at.
    CHECK(f.Send("GET", "/v1/companies/x", Mint(), {}, {{"x-crm-public-token", token}}).status == 401);

    // With a bearer token, the same method is an ordinary API call answered as JSON.
    const auto api = f.Send("GET", "/v1/companies/c-1", Mint());
    REQUIRE(api.status == 200);
    CHECK(Body(api)["company"]["name"] == "https://landing.example/?tenant=acme&roles=admin");

    // A backend answer without an http(s) URL is a server error, never a redirect to anything else.
    const std::string no_url = crm::common::SignPublicToken("test-link", {"tenant-nourl", {}, 0}, kInternalKey);
    const auto broken = f.Send("GET", "/v1/companies/" + no_url, "");
    CHECK(broken.status == 500);
    CHECK(broken.Header("location").empty());

    f.limiter->SetNext(LimitDecision::RateLimited(1500ms));
    const auto limited = f.Send("GET", "/v1/companies/" + token, "");
    CHECK(limited.status == 429);
    CHECK(limited.Header("retry-after") == "2");
}
