// gateway_fake_backend: a stand-in backend for trying the gateway by hand (grpcurl) before the real services run.
// Every method of every service answers each request message with an empty message (a valid message of any proto
// type) and reports, in trailing metadata, what the gateway forwarded:
//   x-echo-identity: "ok tenant=... user=... roles=... request_id=..." or "invalid: <reason>" (checked with
//                    CRM_INTERNAL_KEY), x-echo-authorization: "present"/"absent", x-echo-traceparent,
//   x-echo-deadline-ms: the remaining deadline seen by the backend.
// Methods named Fail* answer INVALID_ARGUMENT with a BadRequest-like binary detail; Hang* wait until cancelled.
//
//   CRM_INTERNAL_KEY=... gateway_fake_backend 127.0.0.1:50061
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"

namespace {

std::string g_key;

std::string Describe(grpc::GenericCallbackServerContext* ctx) {
    std::map<std::string, std::string> md;
    for (const auto& [k, v] : ctx->client_metadata()) {
        std::string key(k.data(), k.size());
        if (key.rfind("x-crm-", 0) == 0) md[key] = std::string(v.data(), v.size());
    }
    try {
        auto id = crm::common::VerifyIdentity(md, g_key, std::chrono::system_clock::now());
        std::string roles;
        for (const auto& r : id.roles) roles += (roles.empty() ? "" : ",") + r;
        return "ok tenant=" + id.tenant_id + " user=" + id.user_id + " roles=" + roles + " request_id=" + id.request_id;
    } catch (const crm::common::ApiError& e) {
        return std::string("invalid: ") + e.what();
    }
}

class Reactor final : public grpc::ServerGenericBidiReactor {
  public:
    explicit Reactor(grpc::GenericCallbackServerContext* ctx) {
        grpc::Slice nothing("");
        empty_ = grpc::ByteBuffer(&nothing, 1);
        const std::string& method = ctx->method();
        const std::string name = method.substr(method.rfind('/') + 1);
        ctx->AddTrailingMetadata("x-echo-identity", Describe(ctx));
        const auto& md = ctx->client_metadata();
        ctx->AddTrailingMetadata("x-echo-authorization", md.count("authorization") ? "present" : "absent");
        auto tp = md.find("traceparent");
        if (tp != md.end())
            ctx->AddTrailingMetadata("x-echo-traceparent", std::string(tp->second.data(), tp->second.size()));
        const auto left = ctx->deadline() - std::chrono::system_clock::now();
        ctx->AddTrailingMetadata(
            "x-echo-deadline-ms",
            ctx->deadline() == std::chrono::system_clock::time_point::max()
                ? "none"
                : std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
        if (name.rfind("Fail", 0) == 0) {
            Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "fake backend: invalid request",
                                std::string("\x08\x03\x12\x04"
                                            "fake",
                                            8)));
            return;
        }
        hang_ = name.rfind("Hang", 0) == 0;
        if (!hang_) StartRead(&in_);
    }
    void OnReadDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::OK);
        StartWrite(&empty_);
    }
    void OnWriteDone(bool ok) override {
        if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client gone"));
        StartRead(&in_);
    }
    void OnCancel() override {
        std::cerr << "fake backend: call cancelled\n";
        if (hang_) Finish(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

  private:
    bool hang_ = false;
    grpc::ByteBuffer in_;
    grpc::ByteBuffer empty_;
};

class Service final : public grpc::CallbackGenericService {
    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
        std::cerr << "fake backend: " << ctx->method() << "\n";
        return new Reactor(ctx);
    }
};

}  // namespace

int main(int argc, char** argv) {
    const char* key = std::getenv("CRM_INTERNAL_KEY");
    g_key = key ? key : "";
    const std::string listen = argc > 1 ? argv[1] : "127.0.0.1:50061";
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Service service;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
    builder.RegisterCallbackGenericService(&service);
    auto server = builder.BuildAndStart();
    if (!server || port == 0) {
        std::cerr << "fake backend: cannot listen on " << listen << "\n";
        return 1;
    }
    std::cerr << "fake backend: listening on " << listen << "\n";
    int received = 0;
    sigwait(&signals, &received);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    return 0;
}
