// The identity binding end to end in one process: a server with the kit's called-method recorder and an RpcRuntime
// handler, called over channels with and without the kit's signing interceptor (MakeDownstreamChannel).
#include <grpc/health/v1/health.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <map>
#include <mutex>

#include "crm/common/identity.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/rpc.hpp"

using namespace crm::common;
namespace hv1 = grpc::health::v1;

namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";
const std::string kCheck = "/grpc.health.v1.Health/Check";
const std::string kWatch = "/grpc.health.v1.Health/Watch";

// Check goes through RpcRuntime (identity bound to the method); it remembers what it saw.
class Service final : public hv1::Health::Service {
  public:
    explicit Service(RpcRuntime& rpc) : rpc_(rpc) {}

    grpc::Status Check(grpc::ServerContext* sc, const hv1::HealthCheckRequest*, hv1::HealthCheckResponse*) override {
        return rpc_.Handle(sc, "Check", [&](const RequestContext& rc) {
            std::lock_guard lock(mutex_);
            tenant_ = rc.tenant_id;
            headers_.clear();
            for (const auto& [k, v] : sc->client_metadata()) {
                headers_[std::string(k.data(), k.size())] = std::string(v.data(), v.size());
            }
        });
    }

    std::string tenant() {
        std::lock_guard lock(mutex_);
        return tenant_;
    }
    std::map<std::string, std::string> headers() {
        std::lock_guard lock(mutex_);
        return headers_;
    }

  private:
    RpcRuntime& rpc_;
    std::mutex mutex_;
    std::string tenant_;
    std::map<std::string, std::string> headers_;
};

struct Server {
    Metrics metrics{"identity-test"};
    RpcRuntime rpc{RpcSettings{"identity-test", kKey}, metrics};
    Service service{rpc};
    std::unique_ptr<grpc::Server> server;
    std::string address;

    explicit Server(bool record_methods = true) {
        grpc::ServerBuilder builder;
        int port = 0;
        builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
        builder.RegisterService(&service);
        if (record_methods) {
            std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
            interceptors.push_back(MakeCalledMethodRecorder());
            builder.experimental().SetInterceptorCreators(std::move(interceptors));
        }
        server = builder.BuildAndStart();
        REQUIRE(server);
        address = "127.0.0.1:" + std::to_string(port);
    }
    ~Server() { server->Shutdown(std::chrono::system_clock::now()); }
};

RequestContext Caller(const std::string& tenant) {
    RequestContext rc;
    rc.tenant_id = tenant;
    rc.user_id = "u-1";
    rc.roles = {"admin"};
    rc.request_id = "req-1";
    return rc;
}

grpc::StatusCode CheckWith(const std::shared_ptr<grpc::Channel>& channel,
                           const std::function<void(grpc::ClientContext&)>& prepare) {
    auto stub = hv1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    prepare(ctx);
    hv1::HealthCheckResponse resp;
    return stub->Check(&ctx, hv1::HealthCheckRequest(), &resp).error_code();
}

void AddHeaders(grpc::ClientContext& ctx, const IdentityHeaders& headers) {
    for (const auto& [k, v] : headers) ctx.AddMetadata(k, v);
}

}  // namespace

TEST_CASE("a downstream call over a kit channel is signed for the method it calls") {
    Server s;
    auto channel = MakeDownstreamChannel(s.address, grpc::InsecureChannelCredentials());
    const auto code = CheckWith(channel, [](grpc::ClientContext& ctx) {
        PrepareDownstreamCall(ctx, Caller("acme"), kKey, std::chrono::seconds(5));
    });
    CHECK(code == grpc::StatusCode::OK);
    CHECK(s.service.tenant() == "acme");
    const auto headers = s.service.headers();
    CHECK(headers.count(meta::kCallKey) == 0);  // the call key never leaves the caller
    CHECK(headers.at(meta::kMethod) == kCheck);
    CHECK(headers.count(meta::kSignature) == 1);
}

TEST_CASE("a prepared identity on a channel without the signer is refused, and its call key reaches no handler") {
    Server s;
    auto plain = grpc::CreateChannel(s.address, grpc::InsecureChannelCredentials());
    CHECK(CheckWith(plain, [](grpc::ClientContext& ctx) {
              PrepareDownstreamCall(ctx, Caller("acme"), kKey, std::chrono::seconds(5));
          }) == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(s.service.tenant().empty());
}

TEST_CASE("headers signed for one method are refused by another - an old signature is refused") {
    Server s;
    auto plain = grpc::CreateChannel(s.address, grpc::InsecureChannelCredentials());
    const Identity id{"acme", "u-1", {"admin"}, "", "req-1"};
    const auto now = std::chrono::system_clock::now();
    CHECK(CheckWith(plain, [&](grpc::ClientContext& ctx) { AddHeaders(ctx, SignIdentity(id, kCheck, kKey, now)); }) ==
          grpc::StatusCode::OK);
    // Captured on the way to Watch, replayed against Check.
    CHECK(CheckWith(plain, [&](grpc::ClientContext& ctx) { AddHeaders(ctx, SignIdentity(id, kWatch, kKey, now)); }) ==
          grpc::StatusCode::UNAUTHENTICATED);
    CHECK(CheckWith(plain, [&](grpc::ClientContext& ctx) {
              AddHeaders(ctx, SignIdentity(id, kCheck, kKey, now - std::chrono::seconds(60)));
          }) == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("without the called-method recorder nothing is accepted") {
    Server s(/*record_methods=*/false);
    auto plain = grpc::CreateChannel(s.address, grpc::InsecureChannelCredentials());
    const Identity id{"acme", "u-1", {"admin"}, "", "req-1"};
    CHECK(CheckWith(plain, [&](grpc::ClientContext& ctx) {
              AddHeaders(ctx, SignIdentity(id, kCheck, kKey, std::chrono::system_clock::now()));
          }) == grpc::StatusCode::INTERNAL);
}
