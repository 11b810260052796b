#include "harness.hpp"

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "crm/common/crypto.hpp"

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

bool HasViolation(const grpc::Status& status, const std::string& field) {
    for (const auto& v : FieldViolations(status)) {
        if (v.field == field) return true;
    }
    return false;
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

}  // namespace crm::test
