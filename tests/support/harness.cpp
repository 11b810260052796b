#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpc/health/v1/health.grpc.pb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "crm/common/crypto.hpp"
#include "crm/common/field_crypto.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/personal_fields.hpp"

namespace crm::test {

std::string RequireEnv(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
        FAIL("environment variable " << name
                                     << " is not set: run integration tests through `deploy/local/stack test` (or "
                                        "eval \"$(deploy/local/stack env)\" with the stack up)");
    }
    return v;
}

std::string MintToken(const TokenSpec& spec) {
    using namespace std::chrono;
    const long long now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
    nlohmann::json header = {{"alg", spec.alg}, {"typ", "JWT"}};
    nlohmann::json claims = {
        {"iss", spec.issuer.empty() ? RequireEnv("CRM_JWT_ISSUER") : spec.issuer},
        {"aud", spec.audience.empty() ? RequireEnv("CRM_JWT_AUDIENCE") : spec.audience},
        {"sub", spec.user},
        {"tenant", spec.tenant},
        {"roles", spec.roles},
        {"iat", now},
        {"nbf", now + spec.nbf_offset.count()},
        {"exp", now + spec.ttl.count()},
        {"jti", crm::common::NewUuid()},
    };
    const std::string signing_input =
        crm::common::Base64UrlEncode(header.dump()) + "." + crm::common::Base64UrlEncode(claims.dump());
    if (spec.alg == "none") return signing_input + ".";
    const std::string secret = spec.secret.empty() ? RequireEnv("CRM_JWT_HS256_SECRET") : spec.secret;
    return signing_input + "." + crm::common::Base64UrlEncode(crm::common::HmacSha256(secret, signing_input));
}

std::string TokenFor(const std::string& tenant, const std::vector<std::string>& roles) {
    TokenSpec spec;
    spec.tenant = tenant;
    spec.roles = roles;
    return MintToken(spec);
}

std::string UniqueTenant(const std::string& prefix) {
    return prefix + crm::common::HexEncode(crm::common::RandomBytes(6));
}

namespace {
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(16 << 20);
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}
}  // namespace

std::shared_ptr<grpc::Channel> GatewayChannel() {
    static std::shared_ptr<grpc::Channel> channel = MakeChannel(RequireEnv("CRM_TEST_GATEWAY"));
    return channel;
}

std::shared_ptr<grpc::Channel> DirectChannel(const char* env_var) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
    std::lock_guard lock(mutex);
    auto& ch = channels[env_var];
    if (!ch) ch = MakeChannel(RequireEnv(env_var));
    return ch;
}

void Prepare(grpc::ClientContext& ctx, const std::string& token, const std::map<std::string, std::string>& extra,
             std::chrono::milliseconds deadline) {
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    for (const auto& [k, v] : extra) ctx.AddMetadata(k, v);
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
}

void PrepareFor(grpc::ClientContext& ctx, std::string_view method, const std::string& token,
                const std::map<std::string, std::string>& extra, std::chrono::milliseconds deadline) {
    std::map<std::string, std::string> headers = extra;
    if (headers.erase(kSignForCall) != 0) {
        // An identity from SignedIdentity: signed now, for this method, as the gateway signs it.
        auto field = [&](const char* name) { return headers.count(name) ? headers.at(name) : std::string(); };
        crm::common::Identity id{field(crm::common::meta::kTenant),
                                 field(crm::common::meta::kUser),
                                 {},
                                 field(crm::common::meta::kKeyId),
                                 field(crm::common::meta::kRequestId)};
        std::istringstream roles(field(crm::common::meta::kRoles));
        for (std::string role; std::getline(roles, role, ',');) id.roles.push_back(role);
        for (auto& [k, v] :
             crm::common::SignIdentity(id, method, RequireEnv("CRM_INTERNAL_KEY"), std::chrono::system_clock::now())) {
            headers[k] = v;
        }
    }
    Prepare(ctx, token, headers, deadline);
}

std::vector<crm::common::FieldViolation> FieldViolations(const grpc::Status& status) {
    std::vector<crm::common::FieldViolation> out;
    google::rpc::Status details;
    if (!details.ParseFromString(status.error_details())) return out;
    for (const auto& any : details.details()) {
        google::rpc::BadRequest bad;
        if (any.UnpackTo(&bad)) {
            for (const auto& v : bad.field_violations()) out.push_back({v.field(), v.description()});
        }
    }
    return out;
}

std::string ErrorReason(const grpc::Status& status) {
    google::rpc::Status details;
    if (!details.ParseFromString(status.error_details())) return "";
    for (const auto& any : details.details()) {
        google::rpc::ErrorInfo info;
        if (any.UnpackTo(&info)) return info.reason();
    }
    return "";
}

std::string ErrorMetadata(const grpc::Status& status, const std::string& key) {
    google::rpc::Status details;
    if (!details.ParseFromString(status.error_details())) return "";
    for (const auto& any : details.details()) {
        google::rpc::ErrorInfo info;
        if (any.UnpackTo(&info)) {
            const auto it = info.metadata().find(key);
            return it == info.metadata().end() ? "" : it->second;
        }
    }
    return "";
}

bool HasViolation(const grpc::Status& status, const std::string& field) {
    for (const auto& v : FieldViolations(status)) {
        if (v.field == field) return true;
    }
    return false;
}

std::string BlindIndexOf(const std::string& tenant, const std::string& column, const std::string& normalized) {
    const char* keys = std::getenv("CRM_PRIVACY_KEYS");
    const auto keyring = crm::common::privacy::KeyringFromSettings(keys ? keys : "", RequireEnv("CRM_INTERNAL_KEY"));
    return crm::common::privacy::BlindIndex(keyring, tenant, column, normalized);
}

std::string QueryScalar(const std::string& service, const std::string& sql) {
    std::string upper;
    for (char c : service) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    const std::string var = "CRM_TEST_PG_" + upper + "_URL";
    pqxx::connection conn(RequireEnv(var.c_str()));
    pqxx::nontransaction tx(conn);
    auto r = tx.exec(sql);
    if (r.empty() || r[0][0].is_null()) return "";
    return r[0][0].as<std::string>();
}

void StackCommand(const std::string& verb) {
    const std::string cmd = RequireEnv("CRM_STACK") + " " + verb + " >/dev/null 2>&1";
    INFO("running " << cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
}

StackCommandAtExit::~StackCommandAtExit() {
    const std::string cmd = RequireEnv("CRM_STACK") + " " + verb_ + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
        std::fprintf(stderr, "could not run `stack %s`: run it by hand\n", verb_.c_str());
}

ChildProcess::ChildProcess(const std::string& path, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env, const std::string& log_path) {
    std::vector<std::string> argv_s{path};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // The test process blocks no signals the child needs; the child blocks SIGTERM itself for its sigwait.
    const int rc = posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) FAIL("cannot start " << path << ": " << std::strerror(rc));
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

void ChildProcess::Signal(int signal) {
    if (pid_ > 0 && !reaped_) kill(pid_, signal);
}

int ChildProcess::Wait(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        int status = 0;
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
}

int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}

bool WaitServing(const std::string& address, std::chrono::milliseconds timeout) {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    auto stub = grpc::health::v1::Health::NewStub(channel);
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        grpc::health::v1::HealthCheckRequest req;
        grpc::health::v1::HealthCheckResponse resp;
        if (stub->Check(&ctx, req, &resp).ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

std::map<std::string, std::string> SignedIdentity(const std::string& tenant, const std::vector<std::string>& roles) {
    std::string joined;
    for (const auto& r : roles) joined += (joined.empty() ? "" : ",") + r;
    return {{crm::common::meta::kTenant, tenant},
            {crm::common::meta::kUser, "test-user"},
            {crm::common::meta::kRoles, joined},
            {crm::common::meta::kKeyId, ""},
            {crm::common::meta::kRequestId, crm::common::NewUuid()},
            {kSignForCall, "1"}};
}

std::string ScrapeMetrics(const std::string& address) {
    const auto colon = address.rfind(':');
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    std::string response;
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
    close(fd);
    REQUIRE(response.rfind("HTTP/1.", 0) == 0);
    return response.substr(response.find("\r\n\r\n") + 4);
}

double MetricSample(const std::string& text, const std::string& name, const std::vector<std::string>& labels) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
        bool all = true;
        for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
        if (all) return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return -1;
}

}  // namespace crm::test
