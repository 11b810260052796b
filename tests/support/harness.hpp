#pragma once
// Test support for integration tests that run against the local stack (deploy/local/stack test exports the
// CRM_TEST_* variables). Nothing here is mocked: calls go through the real gateway to the real services, events are
// read from the real Kafka broker, row counts from the real PostgreSQL.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"

namespace crm::test {

// Reads a required variable; fails the test run with a clear message when the stack did not export it.
std::string RequireEnv(const char* name);

struct TokenSpec {
    std::string tenant = "acme";
    std::string user = "test-user";
    std::vector<std::string> roles = {"admin"};
    std::chrono::seconds ttl{600};
    std::chrono::seconds nbf_offset{0};  // nbf = now + offset
    std::string issuer;                  // empty = CRM_JWT_ISSUER
    std::string audience;                // empty = CRM_JWT_AUDIENCE
    std::string secret;                  // empty = CRM_JWT_HS256_SECRET
    std::string alg = "HS256";           // header alg; "none" produces an unsigned token
};
std::string MintToken(const TokenSpec& spec);
std::string TokenFor(const std::string& tenant, const std::vector<std::string>& roles = {"admin"});

// A fresh tenant id per test so that runs never see each other's data.
std::string UniqueTenant(const std::string& prefix = "t");

std::shared_ptr<grpc::Channel> GatewayChannel();
std::shared_ptr<grpc::Channel> DirectChannel(const char* env_var);  // e.g. "CRM_TEST_CONTACTS"

// Prepares a client context: bearer token, deadline, optional extra metadata.
void Prepare(grpc::ClientContext& ctx, const std::string& token, const std::map<std::string, std::string>& extra = {},
             std::chrono::milliseconds deadline = std::chrono::milliseconds(15000));
// The same for a call to `method` (full name, "/crm.contacts.v1.ContactsService/GetContact"): an identity from
// SignedIdentity in `extra` is signed for that method, as the gateway signs it. The typed clients use it.
void PrepareFor(grpc::ClientContext& ctx, std::string_view method, const std::string& token,
                const std::map<std::string, std::string>& extra = {},
                std::chrono::milliseconds deadline = std::chrono::milliseconds(15000));
// The full name of a generated stub's method: RpcName<cv1::ContactsService>("GetContact").
template <class Service>
std::string RpcName(std::string_view method) {
    return "/" + std::string(Service::service_full_name()) + "/" + std::string(method);
}

// The field violations (google.rpc.BadRequest) and reason (google.rpc.ErrorInfo) of an error status.
std::vector<crm::common::FieldViolation> FieldViolations(const grpc::Status& status);
std::string ErrorReason(const grpc::Status& status);
// One entry of the ErrorInfo metadata ("" when absent), e.g. ErrorMetadata(s, "existing_id") on a duplicate.
std::string ErrorMetadata(const grpc::Status& status, const std::string& key);
bool HasViolation(const grpc::Status& status, const std::string& field);

// Runs a SQL query as the PostgreSQL superuser in a service database (bypasses RLS), returning the first column of
// the first row as text. For "nothing was written" checks.
std::string QueryScalar(const std::string& service, const std::string& sql);

// The blind index a service stores for a normalized value of a sealed column (e.g. "contacts.email"), from the
// stack's keys (CRM_PRIVACY_KEYS, else derived from CRM_INTERNAL_KEY): to count rows by a value PostgreSQL only holds
// sealed.
std::string BlindIndexOf(const std::string& tenant, const std::string& column, const std::string& normalized);

// Runs `deploy/local/stack <verb>` (e.g. kafka-stop); fails the test on a non-zero exit.
void StackCommand(const std::string& verb);

// Runs `deploy/local/stack <verb>` when it goes out of scope, however the test ends: e.g. "start-apps" after a
// kill-app, "redis-start" after redis-stop. A failure is reported on stderr (a destructor must not throw).
class StackCommandAtExit {
  public:
    explicit StackCommandAtExit(std::string verb) : verb_(std::move(verb)) {}
    ~StackCommandAtExit();
    StackCommandAtExit(const StackCommandAtExit&) = delete;
    StackCommandAtExit& operator=(const StackCommandAtExit&) = delete;

  private:
    std::string verb_;
};

// A process started by a test (e.g. a second service instance), killed on destruction if still running.
class ChildProcess {
  public:
    ChildProcess(const std::string& path, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env, const std::string& log_path);
    ~ChildProcess();
    int pid() const { return pid_; }
    void Signal(int signal);
    // Waits for the exit; returns the exit code, 128+signal when killed by one, or -1 on timeout.
    int Wait(std::chrono::milliseconds timeout);

  private:
    int pid_ = -1;
    bool reaped_ = false;
};

// A free loopback TCP port (bound and released).
int FreePort();

// GET /metrics of a Prometheus exposition endpoint (host:port) over plain HTTP/1.0: the body.
std::string ScrapeMetrics(const std::string& address);
// The value of the first sample of `name` whose line holds every given label text (e.g. "code=\"OK\""); -1 when
// there is none (a counter that was never touched has no sample yet).
double MetricSample(const std::string& text, const std::string& name, const std::vector<std::string>& labels = {});

// Waits until a gRPC server answers grpc.health.v1 SERVING, up to the timeout.
bool WaitServing(const std::string& address, std::chrono::milliseconds timeout);

// Identity metadata for calls made directly to a service, signed as the gateway signs it: the typed clients (through
// PrepareFor) sign it with CRM_INTERNAL_KEY for the method of each call, when the call is made. Sent any other way,
// it is unsigned and refused.
std::map<std::string, std::string> SignedIdentity(const std::string& tenant,
                                                  const std::vector<std::string>& roles = {"admin"});
// The entry of a SignedIdentity map that asks PrepareFor to sign it (never sent).
inline constexpr char kSignForCall[] = "x-crm-test-sign-for-call";

}  // namespace crm::test
