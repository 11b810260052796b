#pragma once
// The RPC boundary every handler goes through: it authenticates the gateway-signed identity (bound to the method
// called, see CalledMethod), honours the deadline, runs the handler, maps any exception to a gRPC status once
// (ApiError -> its code and details; database faults -> UNAVAILABLE / ABORTED / DEADLINE_EXCEEDED; anything else ->
// INTERNAL with a generic message), and records crm_grpc_server_handled_total / crm_grpc_server_handling_seconds and
// a JSON log line.
//
//   grpc::Status GetContact(grpc::ServerContext* sc, const GetContactRequest* req, Contact* resp) override {
//       return rpc_.Handle(sc, "GetContact", [&](const RequestContext& rc) { *resp = repo_.Get(rc, req->id()); });
//   }
#include <grpcpp/server_context.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "crm/common/identity.hpp"

namespace grpc {
class Channel;
class ChannelCredentials;
class ClientContext;
}  // namespace grpc

namespace crm::common {

class Metrics;

struct RequestContext : Identity {
    // The RPC being served ("CreateContact"), set by RpcRuntime::Handle; recorded in the audit trail of each change.
    std::string rpc;
    // Absolute deadline of the incoming call (time_point::max() when the client set none).
    std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
    // Remaining time, clamped to [0, cap]; used to bound database statements and outbound calls.
    std::chrono::milliseconds Remaining(std::chrono::milliseconds cap) const;
};

struct RpcSettings {
    std::string service;       // e.g. "contacts"
    std::string internal_key;  // shared with the gateway, verifies identity metadata
    bool require_identity = true;
};

// Prepares a call from one service to another on behalf of the caller of `rc`: the caller's identity (tenant, user,
// roles, key id, request id) prepared for signing with the internal key, as the gateway signs it, and a deadline of
// `timeout` capped by the incoming call's own deadline. The call must go over a channel from MakeDownstreamChannel,
// whose interceptor signs the identity for the method called (on any other channel the callee refuses it).
void PrepareDownstreamCall(grpc::ClientContext& ctx, const RequestContext& rc, const std::string& internal_key,
                           std::chrono::milliseconds timeout);

// A channel to another service (or, in tests, to a service called directly) whose calls carry the identity that
// PrepareDownstreamCall (or PrepareIdentity) attached, signed for the full name of the method each call goes to.
std::shared_ptr<grpc::Channel> MakeDownstreamChannel(const std::string& target,
                                                     const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                                                     const grpc::ChannelArguments& args = grpc::ChannelArguments());

// Records the full method name of every call a server receives, for RpcRuntime (grpc::ServerContext has no method()
// in this gRPC version): the kit's bootstrap (service.hpp) registers it with ServerBuilder::experimental()
// .SetInterceptorCreators; an in-process test server that runs RpcRuntime::Handle registers it too.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeCalledMethodRecorder();

// The full method name ("/crm.contacts.v1.ContactsService/GetContact") of the call `sc` serves, as the recorder saw
// it; empty when no recorder is registered on the server.
std::string CalledMethod(const grpc::ServerContextBase* sc);

// What a status from another service's RpcRuntime says in its ErrorInfo: reason (e.g. "DUPLICATE_COMPANY") and
// metadata (e.g. "existing_id"); empty when the status carries no such detail.
struct ErrorDetail {
    std::string reason;
    std::map<std::string, std::string> metadata;
};
ErrorDetail ReadErrorDetail(const grpc::Status& status);

// Throws the ApiError another service's RpcRuntime answered with — code, message, reason, field violations and
// metadata as they were — so that a call forwarded on a caller's behalf fails for it exactly as it failed upstream.
[[noreturn]] void ThrowUpstreamError(const grpc::Status& status);

class RpcRuntime {
  public:
    RpcRuntime(RpcSettings settings, Metrics& metrics);
    ~RpcRuntime();

    template <class F>
    grpc::Status Handle(grpc::ServerContext* sc, const char* method, F&& fn) {
        const auto start = std::chrono::steady_clock::now();
        std::optional<RequestContext> rc;
        std::exception_ptr error;
        try {
            rc.emplace(Begin(sc));
            rc->rpc = method;
            fn(static_cast<const RequestContext&>(*rc));
        } catch (...) {
            error = std::current_exception();  // mapped to a status in Finish(), never swallowed
        }
        return Finish(method, rc ? &*rc : nullptr, error, start);
    }

    // Maps an exception to the status a client sees (exposed for tests and for non-unary handlers).
    static grpc::Status ToStatus(std::exception_ptr error, const std::string& service);

    // The suite's internal key (CRM_INTERNAL_KEY): what downstream calls sign with (PrepareDownstreamCall) and what
    // tokens of public links are signed with (public_token.hpp).
    const std::string& internal_key() const { return settings_.internal_key; }

  private:
    RequestContext Begin(grpc::ServerContext* sc) const;
    grpc::Status Finish(const char* method, const RequestContext* rc, std::exception_ptr error,
                        std::chrono::steady_clock::time_point start);

    struct Impl;
    RpcSettings settings_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::common
