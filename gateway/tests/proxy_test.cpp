// The proxy inside one process: a fake backend (a generic service with echo, failing, streaming and hanging
// methods) and the gateway, both on loopback ports picked by the kernel, called through a generic client. A fake
// rate limiter stands in for Redis (redis_limiter_test.cpp tests the real one).
#include "proxy/proxy.hpp"

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "crm/common/crypto.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/tls.hpp"
#include "fakes.hpp"

using namespace std::chrono_literals;
using crm::gateway::FailMode;
using crm::gateway::LimitDecision;
using crm::gateway::LimitQuery;
using crm::gateway::Policy;
using crm::gateway::Proxy;
using crm::gateway::ProxySettings;
using crm::gateway::RateLimiter;
using crm::gateway::RouteTable;
using nlohmann::json;
using Metadata = std::multimap<std::string, std::string>;

namespace {

// Access log lines only for failures the server should notice (warn and above).
const bool kQuietLogs = [] {
    crm::common::log::Init("gateway-test", crm::common::log::Level::kWarn);
    return true;
}();

const std::string kJwtSecret = "jwt-secret-0123456789abcdef-0123456789";
const std::string kInternalKey = "internal-key-0123456789abcdef-012345";
const std::string kTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const std::string kDetails = std::string(
    "\x08\x03\x12\x03"
    "bad\x00\xff",
    9);

std::string Mint(json claims = json::object()) { return crm::gateway::testing::MintHs256(kJwtSecret, claims); }

grpc::ByteBuffer ToBuffer(const std::string& s) {
    grpc::Slice slice(s);
    return grpc::ByteBuffer(&slice, 1);
}

std::string ToString(const grpc::ByteBuffer& b) {
    std::vector<grpc::Slice> slices;
    (void)b.Dump(&slices);
    std::string out;
    for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return out;
}

Metadata Copy(const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
    Metadata out;
    for (const auto& [k, v] : md) out.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    return out;
}

std::string Get(const Metadata& md, const std::string& key) {
    auto it = md.find(key);
    return it == md.end() ? std::string() : it->second;
}

// ---------------------------------------------------------------------------------------------------------------
// Fake backend.

struct BackendState {
    std::mutex mutex;
    std::condition_variable changed;
    int calls = 0;
    Metadata last_metadata;
    std::chrono::system_clock::time_point last_deadline;
    bool hang_started = false;
    bool hang_cancelled = false;
    std::map<std::string, int> flaky_calls;

    void Record(grpc::GenericCallbackServerContext* ctx) {
        std::lock_guard lock(mutex);
        ++calls;
        last_metadata = Copy(ctx->client_metadata());
        last_deadline = ctx->deadline();
        changed.notify_all();
    }
    template <class Pred>
    bool WaitFor(Pred pred, std::chrono::milliseconds timeout = 3000ms) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, pred);
    }
};

// Echoes every request message; works as unary and as bidi streaming.
class EchoReactor final : public grpc::ServerGenericBidiReactor {
  public:
    explicit EchoReactor(grpc::GenericCallbackServerContext* ctx) {
        ctx->AddInitialMetadata("x-backend-initial", "yes");
        ctx->AddTrailingMetadata("x-backend-trailing", "yes");
        ctx->AddTrailingMetadata("x-backend-trailing-bin", std::string("\x00\x01\xfe", 3));
        StartRead(&buffer_);
    }
    void OnReadDone(bool ok) override {
        if (ok) {
            StartWrite(&buffer_);
        } else {
            Finish(grpc::Status::OK);
        }
    }
    void OnWriteDone(bool ok) override {
        if (ok) {
            StartRead(&buffer_);
        } else {
            Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
        }
    }
    void OnDone() override { delete this; }

  private:
    grpc::ByteBuffer buffer_;
};

// Reads one request, answers with three messages.
class StreamReactor final : public grpc::ServerGenericBidiReactor {
  public:
    StreamReactor() { StartRead(&request_); }
    void OnReadDone(bool ok) override {
        if (!ok) {
            if (sent_ == 0) Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
            return;
        }
        Next();
    }
    void OnWriteDone(bool ok) override {
        if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
        Next();
    }
    void OnDone() override { delete this; }

  private:
    void Next() {
        if (sent_ == 3) return Finish(grpc::Status::OK);
        response_ = ToBuffer(ToString(request_) + "#" + std::to_string(sent_++));
        StartWrite(&response_);
    }
    grpc::ByteBuffer request_, response_;
    int sent_ = 0;
};

class FailReactor final : public grpc::ServerGenericBidiReactor {
  public:
    explicit FailReactor(grpc::GenericCallbackServerContext* ctx) {
        ctx->AddTrailingMetadata("x-why", "because");
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "contact.email: not an email address", kDetails));
    }
    void OnDone() override { delete this; }
};

class HangReactor final : public grpc::ServerGenericBidiReactor {
  public:
    explicit HangReactor(BackendState& state) : state_(state) {
        std::lock_guard lock(state_.mutex);
        state_.hang_started = true;
        state_.changed.notify_all();
    }
    void OnCancel() override {
        {
            std::lock_guard lock(state_.mutex);
            state_.hang_cancelled = true;
            state_.changed.notify_all();
        }
        Finish(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

  private:
    BackendState& state_;
};

// Refuses the call as a backend that is not ready yet would (UNAVAILABLE, before doing anything).
class UnavailableReactor final : public grpc::ServerGenericBidiReactor {
  public:
    UnavailableReactor() { Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "not ready")); }
    void OnDone() override { delete this; }
};

class FakeBackend final : public grpc::CallbackGenericService {
  public:
    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
        state.Record(ctx);
        const std::string& m = ctx->method();
        // The Flaky methods answer UNAVAILABLE to their first call, then echo.
        if (m == "/test.echo.v1.Echo/FlakyRead" || m == "/test.echo.v1.Echo/FlakyWrite") {
            std::lock_guard lock(state.mutex);
            if (++state.flaky_calls[m] == 1) return new UnavailableReactor();
            return new EchoReactor(ctx);
        }
        if (m == "/test.echo.v1.Echo/Echo" || m == "/test.echo.v1.Echo/Unary") return new EchoReactor(ctx);
        if (m == "/test.echo.v1.Echo/Stream") return new StreamReactor();
        if (m == "/test.echo.v1.Echo/Fail") return new FailReactor(ctx);
        if (m == "/test.echo.v1.Echo/Hang") return new HangReactor(state);
        return grpc::CallbackGenericService::CreateReactor(ctx);  // UNIMPLEMENTED
    }
    BackendState state;
};

std::unique_ptr<grpc::Server> Serve(grpc::CallbackGenericService* service, int* port,
                                    std::shared_ptr<grpc::ServerCredentials> credentials = nullptr) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials ? credentials : grpc::InsecureServerCredentials(), port);
    builder.RegisterCallbackGenericService(service);
    auto server = builder.BuildAndStart();
    REQUIRE(server);
    REQUIRE(*port > 0);
    return server;
}

int UnusedPort() {
    FakeBackend b;
    int port = 0;
    auto s = Serve(&b, &port);
    s->Shutdown();
    s->Wait();
    return port;
}

// ---------------------------------------------------------------------------------------------------------------
// Client side.

struct Result {
    grpc::Status status;
    std::vector<std::string> responses;
    Metadata initial;
    Metadata trailing;
    std::chrono::milliseconds elapsed{};
};

class TestCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
  public:
    TestCall(std::string method, std::vector<std::string> requests)
        : method_(std::move(method)), requests_(std::move(requests)) {}

    grpc::ClientContext context;

    void Start(grpc::GenericStub& stub) {
        start_ = std::chrono::steady_clock::now();
        stub.PrepareBidiStreamingCall(&context, method_, grpc::StubOptions(), this);
        WriteNext();
        StartRead(&in_);
        StartCall();
    }
    Result Wait() { return done_.get_future().get(); }

    void OnWriteDone(bool ok) override {
        if (ok) WriteNext();
    }
    void OnReadDone(bool ok) override {
        if (!ok) return;
        result_.responses.push_back(ToString(in_));
        StartRead(&in_);
    }
    void OnDone(const grpc::Status& status) override {
        result_.status = status;
        result_.initial = Copy(context.GetServerInitialMetadata());
        result_.trailing = Copy(context.GetServerTrailingMetadata());
        result_.elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_);
        done_.set_value(result_);
    }

  private:
    void WriteNext() {
        if (next_ < requests_.size()) {
            out_ = ToBuffer(requests_[next_++]);
            StartWrite(&out_);
        } else {
            StartWritesDone();
        }
    }
    std::string method_;
    std::vector<std::string> requests_;
    size_t next_ = 0;
    grpc::ByteBuffer out_, in_;
    Result result_;
    std::promise<Result> done_;
    std::chrono::steady_clock::time_point start_;
};

struct Options {
    std::string token{};  // empty: no authorization header
    std::optional<std::chrono::milliseconds> timeout{};
    Metadata extra{};
};

// Answers every check with the decision set last and records the queries.
using FakeLimiter = crm::gateway::testing::RecordingLimiter;

// sales_rep and admin may call every method of test.echo.v1, read_only only Echo; tenant acme has a plan.
const char kPolicy[] = R"({
  "rules": [
    {"roles": ["admin", "sales_rep"], "methods": ["test.echo.v1.*"]},
    {"roles": ["read_only"], "methods": ["test.echo.v1.Echo/Echo"]}
  ],
  "rate_limits": {"plans": {"gold": "7:9"}, "tenants": {"acme": "gold"}}
})";

// The gateway in front of a fake backend.
struct Fixture {
    FakeBackend backend;
    int backend_port = 0;
    std::unique_ptr<grpc::Server> backend_server;
    crm::common::Metrics metrics{"gateway-test"};
    std::unique_ptr<Proxy> proxy;
    int gateway_port = 0;
    std::unique_ptr<grpc::Server> gateway;
    std::unique_ptr<grpc::GenericStub> stub;

    explicit Fixture(std::chrono::milliseconds default_deadline = 15000ms, bool backend_up = true,
                     std::shared_ptr<RateLimiter> limiter = nullptr, FailMode fail_mode = FailMode::kOpen) {
        std::string target;
        if (backend_up) {
            backend_server = Serve(&backend, &backend_port);
            target = "127.0.0.1:" + std::to_string(backend_port);
        } else {
            target = "127.0.0.1:" + std::to_string(UnusedPort());
        }
        ProxySettings s;
        s.routes = RouteTable::Parse("test.echo.v1=" + target);
        s.default_deadline = default_deadline;
        s.retryable_methods = {"test.echo.v1.Echo/FlakyRead", "other.v1.Echo/Echo", "test.echo.v1.sub.Echo/Echo"};
        // Unary, Fail, Hang and the flaky ones take the unary path, as the suite's unary methods do; Echo (used with
        // several messages) and Stream take the streaming path.
        s.is_unary = [](std::string_view m) {
            return m == "/test.echo.v1.Echo/Unary" || m == "/test.echo.v1.Echo/Fail" ||
                   m == "/test.echo.v1.Echo/Hang" || m == "/test.echo.v1.Echo/FlakyRead" ||
                   m == "/test.echo.v1.Echo/FlakyWrite";
        };
        crm::gateway::AdmissionSettings a;
        a.jwt = {kJwtSecret, "crm-local", "crm-api", 30s, {}};
        a.internal_key = kInternalKey;
        a.policy = Policy::Parse(kPolicy);
        a.limiter = std::move(limiter);
        a.fail_mode = fail_mode;
        proxy = std::make_unique<Proxy>(std::move(s),
                                        std::make_shared<const crm::gateway::Admission>(std::move(a), metrics));
        gateway = Serve(proxy->service(), &gateway_port);
        stub = std::make_unique<grpc::GenericStub>(
            grpc::CreateChannel("127.0.0.1:" + std::to_string(gateway_port), grpc::InsecureChannelCredentials()));
    }

    ~Fixture() {
        gateway->Shutdown(std::chrono::system_clock::now() + 1s);
        gateway->Wait();
        CHECK(proxy->WaitIdle(3s));
        if (backend_server) {
            backend_server->Shutdown(std::chrono::system_clock::now() + 1s);
            backend_server->Wait();
        }
    }

    std::unique_ptr<TestCall> Begin(const std::string& method, std::vector<std::string> requests, const Options& o) {
        auto call = std::make_unique<TestCall>(method, std::move(requests));
        if (!o.token.empty()) call->context.AddMetadata("authorization", "Bearer " + o.token);
        if (o.timeout) call->context.set_deadline(std::chrono::system_clock::now() + *o.timeout);
        for (const auto& [k, v] : o.extra) call->context.AddMetadata(k, v);
        call->Start(*stub);
        return call;
    }

    Result Call(const std::string& method, std::vector<std::string> requests, const Options& o) {
        return Begin(method, std::move(requests), o)->Wait();
    }

    double CounterValue(const std::string& family, const std::map<std::string, std::string>& labels) {
        for (const auto& f : metrics.registry().Collect()) {
            if (f.name != family) continue;
            for (const auto& m : f.metric) {
                bool match = true;
                for (const auto& [k, v] : labels) {
                    bool found = false;
                    for (const auto& l : m.label) found |= (l.name == k && l.value == v);
                    match &= found;
                }
                if (match) return m.counter.value;
            }
        }
        return 0;
    }
};

}  // namespace

TEST_CASE("a unary call is forwarded with the signed identity and comes back with the backend's metadata") {
    // Both paths: the unary one (one upstream batch) and the streaming one a unary call takes when its shape is
    // unknown.
    const std::string method = GENERATE("/test.echo.v1.Echo/Unary", "/test.echo.v1.Echo/Echo");
    INFO(method);
    Fixture f;
    auto r = f.Call(method,
                    {std::string("\x0a\x03"
                                 "abc\x00\xff",
                                 7)},
                    {.token = Mint(),
                     .extra = {{"x-request-id", "req-123"},
                               {"traceparent", kTrace},
                               {"x-crm-tenant", "globex"},
                               {"x-crm-identity-sig", "forged"},
                               {"cookie", "c=1"}}});
    REQUIRE(r.status.error_code() == grpc::StatusCode::OK);
    REQUIRE(r.responses.size() == 1);
    CHECK(r.responses[0] == std::string("\x0a\x03"
                                        "abc\x00\xff",
                                        7));  // bytes untouched
    CHECK(Get(r.initial, "x-request-id") == "req-123");
    CHECK(Get(r.initial, "x-backend-initial") == "yes");
    CHECK(Get(r.trailing, "x-backend-trailing") == "yes");
    CHECK(Get(r.trailing, "x-backend-trailing-bin") == std::string("\x00\x01\xfe", 3));

    std::lock_guard lock(f.backend.state.mutex);
    const Metadata& md = f.backend.state.last_metadata;
    CHECK(md.count("authorization") == 0);
    CHECK(md.count("cookie") == 0);
    CHECK(md.count("x-request-id") == 0);
    CHECK(Get(md, "traceparent") == kTrace);
    CHECK(md.count("x-crm-tenant") == 1);
    CHECK(md.count("x-crm-identity-sig") == 1);
    std::map<std::string, std::string> crm;
    for (const auto& [k, v] : md) {
        if (k.rfind("x-crm-", 0) == 0) crm[k] = v;
    }
    auto id = crm::common::VerifyIdentity(crm, kInternalKey, std::chrono::system_clock::now());
    CHECK(id.tenant_id == "acme");
    CHECK(id.user_id == "user-1");
    CHECK(id.roles == std::vector<std::string>{"sales_rep"});
    CHECK(id.request_id == "req-123");
    // No client deadline: the default (15 s) is applied.
    const auto left = f.backend.state.last_deadline - std::chrono::system_clock::now();
    CHECK(left > 13s);
    CHECK(left <= 15500ms);  // grpc-timeout is sent rounded up
}

TEST_CASE("a new request id is made when the client sends none or an invalid one") {
    Fixture f;
    auto r = f.Call("/test.echo.v1.Echo/Echo", {"x"}, {.token = Mint(), .extra = {{"x-request-id", "bad id"}}});
    REQUIRE(r.status.ok());
    const std::string rid = Get(r.initial, "x-request-id");
    CHECK(crm::common::IsUuid(rid));
    std::map<std::string, std::string> crm;
    {
        std::lock_guard lock(f.backend.state.mutex);
        for (const auto& [k, v] : f.backend.state.last_metadata) {
            if (k.rfind("x-crm-", 0) == 0) crm[k] = v;
        }
    }
    CHECK(crm::common::VerifyIdentity(crm, kInternalKey, std::chrono::system_clock::now()).request_id == rid);
}

TEST_CASE("streams are forwarded message by message in both directions") {
    Fixture f;
    auto bidi = f.Call("/test.echo.v1.Echo/Echo", {"one", "two", "three"}, {.token = Mint()});
    REQUIRE(bidi.status.ok());
    CHECK(bidi.responses == std::vector<std::string>{"one", "two", "three"});

    auto server_stream = f.Call("/test.echo.v1.Echo/Stream", {"s"}, {.token = Mint()});
    REQUIRE(server_stream.status.ok());
    CHECK(server_stream.responses == std::vector<std::string>{"s#0", "s#1", "s#2"});

    auto empty = f.Call("/test.echo.v1.Echo/Echo", {}, {.token = Mint()});
    CHECK(empty.status.ok());
    CHECK(empty.responses.empty());
}

TEST_CASE("backend errors come back unchanged: code, message, details and trailing metadata") {
    Fixture f;
    auto r = f.Call("/test.echo.v1.Echo/Fail", {"x"}, {.token = Mint()});
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(r.status.error_message() == "contact.email: not an email address");
    CHECK(r.status.error_details() == kDetails);
    CHECK(Get(r.trailing, "x-why") == "because");
    CHECK(f.CounterValue("crm_gateway_requests_total",
                         {{"service", "test.echo.v1.Echo"}, {"method", "Fail"}, {"code", "INVALID_ARGUMENT"}}) == 1);

    auto unknown_method = f.Call("/test.echo.v1.Echo/Nope", {"x"}, {.token = Mint()});
    CHECK(unknown_method.status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
}

TEST_CASE("calls without a valid token are refused before reaching the backend") {
    Fixture f;
    const std::string expired = Mint({{"exp", 1000}, {"nbf", 900}, {"iat", 900}});
    struct Case {
        Options options;
        std::string reason;
    };
    std::vector<Case> cases{
        {{}, "missing_token"},
        {{.token = "not-a-jwt"}, "malformed"},
        {{.token = expired}, "expired"},
        {{.token = Mint({{"aud", "other"}})}, "wrong_audience"},
        {{.token = Mint().substr(0, Mint().size() - 2) + "AA"}, "bad_signature"},
        {{.extra = {{"authorization", "Basic dXNlcjpwYXNz"}}}, "malformed"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.reason);
        auto r = f.Call("/test.echo.v1.Echo/Echo", {"x"}, c.options);
        CHECK(r.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
        if (!c.options.token.empty()) {
            CHECK(r.status.error_message() == "invalid or expired token");
            CHECK(r.status.error_message().find(c.options.token) == std::string::npos);
        }
        CHECK(crm::common::IsUuid(Get(r.initial, "x-request-id") + Get(r.trailing, "x-request-id")));
        CHECK(f.CounterValue("crm_gateway_auth_failures_total", {{"reason", c.reason}}) >= 1);
    }
    std::lock_guard lock(f.backend.state.mutex);
    CHECK(f.backend.state.calls == 0);
}

TEST_CASE("unknown services are UNIMPLEMENTED, with or without a token") {
    Fixture f;
    for (const char* method : {"/crm.other.v1.Other/Get", "/test.echo.v2.Echo/Echo", "/NoPackage/Get",
                               "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
        CAPTURE(method);
        CHECK(f.Call(method, {"x"}, {}).status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
        CHECK(f.Call(method, {"x"}, {.token = Mint()}).status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
    }
    CHECK(f.CounterValue("crm_gateway_requests_total", {{"service", "unknown"}, {"code", "UNIMPLEMENTED"}}) >= 1);
    std::lock_guard lock(f.backend.state.mutex);
    CHECK(f.backend.state.calls == 0);
}

TEST_CASE("a backend that is down gives UNAVAILABLE quickly, without internal addresses") {
    const std::string method = GENERATE("/test.echo.v1.Echo/Unary", "/test.echo.v1.Echo/Echo");
    INFO(method);
    Fixture f(15000ms, /*backend_up=*/false);
    for (int i = 0; i < 3; ++i) {
        auto r = f.Call(method, {"x"}, {.token = Mint(), .timeout = 10000ms});
        CHECK(r.status.error_code() == grpc::StatusCode::UNAVAILABLE);
        CHECK(r.status.error_message().find("127.0.0.1") == std::string::npos);
        CHECK(r.elapsed < 2000ms);
    }
}

TEST_CASE("only methods without side effects are retried when the backend answers UNAVAILABLE") {
    Fixture f;
    auto read = f.Call("/test.echo.v1.Echo/FlakyRead", {"r"}, {.token = Mint(), .timeout = 5000ms});
    CHECK(read.status.error_code() == grpc::StatusCode::OK);
    CHECK(read.responses == std::vector<std::string>{"r"});
    auto write = f.Call("/test.echo.v1.Echo/FlakyWrite", {"w"}, {.token = Mint(), .timeout = 5000ms});
    CHECK(write.status.error_code() == grpc::StatusCode::UNAVAILABLE);
    std::lock_guard lock(f.backend.state.mutex);
    CHECK(f.backend.state.flaky_calls["/test.echo.v1.Echo/FlakyRead"] == 2);   // refused once, retried once
    CHECK(f.backend.state.flaky_calls["/test.echo.v1.Echo/FlakyWrite"] == 1);  // never sent twice
}

TEST_CASE("the retry service config names only the route's own services") {
    ProxySettings s;
    s.retryable_methods = {"crm.contacts.v1.ContactsService/GetContact", "crm.contacts.v1x.S/M",
                           "crm.contacts.v1.sub.S/M", "crm.leads.v1.LeadsService/GetLead", "malformed"};
    const auto config = nlohmann::json::parse(RetryServiceConfig(s, "crm.contacts.v1"));
    const auto& names = config["methodConfig"][0]["name"];
    REQUIRE(names.size() == 1);
    CHECK(names[0]["service"] == "crm.contacts.v1.ContactsService");
    CHECK(names[0]["method"] == "GetContact");
    CHECK(config["methodConfig"][0]["retryPolicy"]["retryableStatusCodes"] == nlohmann::json::array({"UNAVAILABLE"}));
    CHECK(config["methodConfig"][0]["retryPolicy"]["maxAttempts"] == 3);
    CHECK(RetryServiceConfig(s, "crm.sales.v1").empty());
    s.retry_attempts = 1;
    CHECK(RetryServiceConfig(s, "crm.contacts.v1").empty());
}

TEST_CASE("the client's deadline reaches the backend") {
    Fixture f;
    auto r = f.Call("/test.echo.v1.Echo/Hang", {"x"}, {.token = Mint(), .timeout = 700ms});
    CHECK(r.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
    CHECK(r.elapsed < 2000ms);
    CHECK(f.backend.state.WaitFor([&] { return f.backend.state.hang_cancelled; }));
    std::lock_guard lock(f.backend.state.mutex);
    // The backend saw (about) the client's deadline, not the 15 s default.
    const auto seen = f.backend.state.last_deadline;
    const auto now = std::chrono::system_clock::now();
    CHECK(seen < now + 1s);
}

TEST_CASE("the default deadline applies when the client sets none") {
    Fixture f(400ms);
    auto r = f.Call("/test.echo.v1.Echo/Hang", {"x"}, {.token = Mint()});
    CHECK(r.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
    CHECK(r.elapsed >= 300ms);
    CHECK(r.elapsed < 2000ms);
}

TEST_CASE("client cancellation reaches the backend") {
    Fixture f;
    auto call = f.Begin("/test.echo.v1.Echo/Hang", {"x"}, {.token = Mint()});
    REQUIRE(f.backend.state.WaitFor([&] { return f.backend.state.hang_started; }));
    call->context.TryCancel();
    auto r = call->Wait();
    CHECK(r.status.error_code() == grpc::StatusCode::CANCELLED);
    CHECK(f.backend.state.WaitFor([&] { return f.backend.state.hang_cancelled; }, 2000ms));
}

namespace {
std::string Numbered(int i) {
    std::string s = std::to_string(i);
    s.insert(s.begin(), 'm');  // not "m" + to_string(i): GCC 12 -Wrestrict false positive
    return s;
}
}  // namespace

TEST_CASE("many concurrent calls") {
    Fixture f;
    const std::string token = Mint();
    std::vector<std::unique_ptr<TestCall>> calls;
    for (int i = 0; i < 200; ++i) {
        const std::string method = i % 3 == 0   ? "/test.echo.v1.Echo/Echo"
                                   : i % 3 == 1 ? "/test.echo.v1.Echo/Stream"
                                                : "/test.echo.v1.Echo/Fail";
        calls.push_back(f.Begin(method, {Numbered(i), "n"}, {.token = token}));
    }
    int ok = 0, failed = 0;
    for (size_t i = 0; i < calls.size(); ++i) {
        auto r = calls[i]->Wait();
        if (i % 3 == 0) {
            CHECK(r.status.ok());
            CHECK(r.responses == std::vector<std::string>{Numbered(static_cast<int>(i)), "n"});
        } else if (i % 3 == 1) {
            CHECK(r.status.ok());
            CHECK(r.responses.size() == 3);
        } else {
            CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        }
        (r.status.ok() ? ok : failed)++;
    }
    CHECK(ok + failed == 200);
    CHECK(f.proxy->WaitIdle(2s));
}

// ---------------------------------------------------------------------------------------------------------------
// Authorization, revocation and rate limits.

namespace {

// The google.rpc details of a status: ErrorInfo reason and RetryInfo delay (-1 ms when absent).
struct Details {
    std::string reason;
    std::chrono::milliseconds retry{-1};
};
Details ParseDetails(const grpc::Status& status) {
    Details out;
    google::rpc::Status st;
    REQUIRE(st.ParseFromString(status.error_details()));
    CHECK(st.code() == static_cast<int>(status.error_code()));
    for (const auto& any : st.details()) {
        google::rpc::ErrorInfo info;
        google::rpc::RetryInfo retry;
        if (any.UnpackTo(&info)) {
            out.reason = info.reason();
            CHECK(info.domain() == "crm.gateway");
        } else if (any.UnpackTo(&retry)) {
            out.retry =
                std::chrono::milliseconds(retry.retry_delay().seconds() * 1000 + retry.retry_delay().nanos() / 1000000);
        }
    }
    return out;
}

int BackendCalls(Fixture& f) {
    std::lock_guard lock(f.backend.state.mutex);
    return f.backend.state.calls;
}

}  // namespace

TEST_CASE("a role the policy does not grant is PERMISSION_DENIED before the backend") {
    Fixture f;
    auto ok = f.Call("/test.echo.v1.Echo/Echo", {"x"}, {.token = Mint({{"roles", {"read_only"}}})});
    CHECK(ok.status.ok());
    struct Case {
        std::string method;
        nlohmann::json roles;
    };
    for (const auto& c : std::vector<Case>{{"Stream", {"read_only"}},
                                           {"Echo", json::array()},
                                           {"Echo", {"superuser", "analyst"}},
                                           {"Fail", {"read_only", "marketer"}}}) {
        CAPTURE(c.method, c.roles.dump());
        const double before =
            f.CounterValue("crm_gateway_authz_denied_total", {{"service", "test.echo.v1.Echo"}, {"method", c.method}});
        auto r = f.Call("/test.echo.v1.Echo/" + c.method, {"x"}, {.token = Mint({{"roles", c.roles}})});
        CHECK(r.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        CHECK(r.status.error_message() == "permission denied");
        CHECK(ParseDetails(r.status).reason == "PERMISSION_DENIED");
        CHECK(crm::common::IsUuid(Get(r.initial, "x-request-id") + Get(r.trailing, "x-request-id")));
        CHECK(f.CounterValue("crm_gateway_authz_denied_total",
                             {{"service", "test.echo.v1.Echo"}, {"method", c.method}}) == before + 1);
    }
    CHECK(BackendCalls(f) == 1);
}

TEST_CASE("one limiter check per call: the jti and the tenant's bucket, with the tenant's plan or the default") {
    auto limiter = std::make_shared<FakeLimiter>();
    Fixture f(15000ms, true, limiter);
    REQUIRE(f.Call("/test.echo.v1.Echo/Echo", {"x"}, {.token = Mint({{"jti", "j-1"}})}).status.ok());
    REQUIRE(f.Call("/test.echo.v1.Echo/Echo", {"x"}, {.token = Mint({{"tenant", "globex"}})}).status.ok());
    // Refused by the policy: the revocation is still checked (401 beats 403), but no token is taken.
    auto denied =
        f.Call("/test.echo.v1.Echo/Stream", {"x"}, {.token = Mint({{"jti", "j-2"}, {"roles", {"read_only"}}})});
    CHECK(denied.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    // Refused by the policy and no jti: nothing to ask.
    denied = f.Call("/test.echo.v1.Echo/Stream", {"x"}, {.token = Mint({{"roles", {"read_only"}}})});
    CHECK(denied.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);

    const auto q = limiter->Queries();
    REQUIRE(q.size() == 3);
    CHECK(q[0].revoked_key == "crm:revoked:jti:j-1");
    REQUIRE(q[0].buckets.size() == 1);
    CHECK(q[0].buckets[0].key == "crm:ratelimit:tenant:acme");
    CHECK(q[0].buckets[0].limit == crm::gateway::RateLimit{7, 9});
    CHECK(q[1].revoked_key.empty());
    REQUIRE(q[1].buckets.size() == 1);
    CHECK(q[1].buckets[0].key == "crm:ratelimit:tenant:globex");
    CHECK(q[1].buckets[0].limit == crm::gateway::RateLimit{50, 100});
    CHECK(q[2].revoked_key == "crm:revoked:jti:j-2");
    CHECK(q[2].buckets.empty());
}

TEST_CASE("a revoked token is UNAUTHENTICATED, even for a method its roles do not grant") {
    auto limiter = std::make_shared<FakeLimiter>();
    limiter->SetNext(LimitDecision::Revoked());
    Fixture f(15000ms, true, limiter);
    const double before = f.CounterValue("crm_gateway_auth_failures_total", {{"reason", "revoked"}});
    for (const char* method : {"Echo", "Stream"}) {
        auto r = f.Call(std::string("/test.echo.v1.Echo/") + method, {"x"},
                        {.token = Mint({{"jti", "j-1"}, {"roles", {"read_only"}}})});
        CHECK(r.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
        CHECK(r.status.error_message() == "token revoked");
        CHECK(ParseDetails(r.status).reason == "TOKEN_REVOKED");
    }
    CHECK(f.CounterValue("crm_gateway_auth_failures_total", {{"reason", "revoked"}}) == before + 2);
    CHECK(BackendCalls(f) == 0);
}

TEST_CASE("a rate-limited call is RESOURCE_EXHAUSTED with RetryInfo and retry-after") {
    auto limiter = std::make_shared<FakeLimiter>();
    limiter->SetNext(LimitDecision::RateLimited(2500ms));
    Fixture f(15000ms, true, limiter);
    auto r = f.Call("/test.echo.v1.Echo/Echo", {"x"}, {.token = Mint()});
    CHECK(r.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(r.status.error_message() == "rate limit exceeded, retry later");
    const auto d = ParseDetails(r.status);
    CHECK(d.reason == "RATE_LIMITED");
    CHECK(d.retry == 2500ms);
    CHECK(Get(r.trailing, "retry-after") == "3");  // whole seconds, rounded up
    CHECK(crm::common::IsUuid(Get(r.initial, "x-request-id") + Get(r.trailing, "x-request-id")));
    CHECK(f.CounterValue("crm_gateway_ratelimited_total", {{"service", "test.echo.v1.Echo"}}) == 1);

    limiter->SetNext(LimitDecision::RateLimited(40ms));
    r = f.Call("/test.echo.v1.Echo/Echo", {"x"}, {.token = Mint()});
    CHECK(ParseDetails(r.status).retry == 40ms);
    CHECK(Get(r.trailing, "retry-after") == "1");  // never 0
    CHECK(BackendCalls(f) == 0);
}

TEST_CASE("limiter unavailable: open mode serves the call and counts it, closed mode refuses it") {
    SECTION("open") {
        auto limiter = std::make_shared<FakeLimiter>();
        limiter->SetNext(LimitDecision::Unavailable("redis: Connection refused"));
        Fixture f(15000ms, true, limiter, FailMode::kOpen);
        for (int i = 0; i < 3; ++i) CHECK(f.Call("/test.echo.v1.Echo/Echo", {"x"}, {.token = Mint()}).status.ok());
        CHECK(f.CounterValue("crm_gateway_ratelimit_fail_open_total", {}) == 3);
        CHECK(BackendCalls(f) == 3);
        // The policy still applies.
        auto r = f.Call("/test.echo.v1.Echo/Stream", {"x"}, {.token = Mint({{"jti", "j"}, {"roles", {"read_only"}}})});
        CHECK(r.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    }
    SECTION("closed") {
        auto limiter = std::make_shared<FakeLimiter>();
        limiter->SetNext(LimitDecision::Unavailable("redis: Connection refused"));
        Fixture f(15000ms, true, limiter, FailMode::kClosed);
        auto r = f.Call("/test.echo.v1.Echo/Echo", {"x"}, {.token = Mint()});
        CHECK(r.status.error_code() == grpc::StatusCode::UNAVAILABLE);
        CHECK(r.status.error_message() == "service unavailable, retry later");
        CHECK(ParseDetails(r.status).reason == "RATE_LIMITER_UNAVAILABLE");
        CHECK(f.CounterValue("crm_gateway_ratelimit_fail_open_total", {}) == 0);
        CHECK(BackendCalls(f) == 0);
    }
}

namespace {

// A CA and certificates it signs, made with the openssl command line when the test runs (never committed).
struct TestPki {
    std::string dir = "/tmp/crm-gateway-tls-" + std::to_string(::getpid());
    TestPki() {
        REQUIRE(std::system(("mkdir -p " + dir).c_str()) == 0);
        std::ofstream(dir + "/make.sh") << R"SH(set -e
cd "$(dirname "$0")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 \
    -subj /CN=crm-test-ca 2>/dev/null
for n in server client;
        do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj /CN=crm-$n \
        2>/dev/null
    printf 'subjectAltName=DNS:backend.crm.test,DNS:gateway.crm.test\n' > $n.ext
    openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out $n.pem -extfile $n.ext \
        2>/dev/null
done
)SH";
        REQUIRE(std::system(("bash " + dir + "/make.sh").c_str()) == 0);
    }
    ~TestPki() { (void)std::system(("rm -rf " + dir).c_str()); }
    std::string Path(const std::string& name) const { return dir + "/" + name; }
};

}  // namespace

TEST_CASE("TLS: clients over TLS to the gateway, the gateway over mutual TLS to the backend") {
    TestPki pki;
    FakeBackend backend;
    int backend_port = 0;
    // The backend requires a client certificate signed by the CA.
    auto backend_server =
        Serve(&backend, &backend_port,
              crm::common::MakeServerCredentials({pki.Path("server.pem"), pki.Path("server.key"), pki.Path("ca.pem")}));
    crm::common::Metrics metrics{"gateway-test"};
    auto admission = [&] {
        crm::gateway::AdmissionSettings a;
        a.jwt = {kJwtSecret, "crm-local", "crm-api", 30s, {}};
        a.internal_key = kInternalKey;
        a.policy = Policy::Parse(kPolicy);
        return std::make_shared<const crm::gateway::Admission>(std::move(a), metrics);
    }();
    auto make_proxy = [&](crm::common::TlsFiles upstream) {
        ProxySettings s;
        s.routes = RouteTable::Parse("test.echo.v1=127.0.0.1:" + std::to_string(backend_port));
        s.upstream_tls = std::move(upstream);
        s.upstream_server_name = "backend.crm.test";
        return std::make_unique<Proxy>(std::move(s), admission);
    };
    auto call = [&](grpc::GenericStub& stub) {
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", "Bearer " + Mint());
        ctx.set_deadline(std::chrono::system_clock::now() + 5s);
        grpc::ByteBuffer request = ToBuffer("hello"), response;
        std::promise<grpc::Status> done;
        stub.UnaryCall(&ctx, "/test.echo.v1.Echo/Echo", grpc::StubOptions(), &request, &response,
                       [&](grpc::Status st) { done.set_value(st); });
        auto status = done.get_future().get();
        return std::make_pair(status, status.ok() ? ToString(response) : std::string());
    };

    // Mutual TLS toward the backend, TLS toward the client.
    auto proxy = make_proxy({pki.Path("client.pem"), pki.Path("client.key"), pki.Path("ca.pem")});
    int gateway_port = 0;
    auto gateway = Serve(proxy->service(), &gateway_port,
                         crm::common::MakeServerCredentials({pki.Path("server.pem"), pki.Path("server.key"), ""}));
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("gateway.crm.test");
    auto tls_channel =
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(gateway_port),
                                  crm::common::MakeChannelCredentials({"", "", pki.Path("ca.pem")}), args);
    grpc::GenericStub tls_stub(tls_channel);
    auto [ok, echoed] = call(tls_stub);
    CHECK(ok.ok());
    CHECK(echoed == "hello");

    // A plaintext client cannot talk to the TLS listener.
    grpc::GenericStub plain_stub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(gateway_port), grpc::InsecureChannelCredentials()));
    CHECK(call(plain_stub).first.error_code() == grpc::StatusCode::UNAVAILABLE);

    // A gateway without a client certificate is refused by the backend (UNAVAILABLE, never the backend's data).
    auto no_cert = make_proxy({"", "", pki.Path("ca.pem")});
    int port2 = 0;
    auto gateway2 = Serve(no_cert->service(), &port2);
    grpc::GenericStub stub2(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port2), grpc::InsecureChannelCredentials()));
    const auto refused = call(stub2).first;
    CHECK(refused.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK(refused.error_message() == "service unavailable, retry later");

    // Settings are checked: a key without its certificate, a missing file.
    CHECK_THROWS_AS(crm::common::MakeServerCredentials({pki.Path("server.pem"), "", ""}), std::runtime_error);
    CHECK_THROWS_AS(crm::common::MakeChannelCredentials({"", pki.Path("client.key"), pki.Path("ca.pem")}),
                    std::runtime_error);
    CHECK_THROWS_WITH(crm::common::MakeChannelCredentials({"", "", pki.Path("missing.pem")}),
                      Catch::Contains("missing.pem"));

    for (auto* server : {gateway.get(), gateway2.get(), backend_server.get()}) {
        server->Shutdown(std::chrono::system_clock::now() + 1s);
        server->Wait();
    }
    CHECK(proxy->WaitIdle(3s));
    CHECK(no_cert->WaitIdle(3s));
}
