#include "gateway.hpp"

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_builder.h>

#include <stdexcept>
#include <string>

#include "crm/common/log.hpp"
#include "crm/common/service.hpp"
#include "redis_limiter.hpp"

namespace crm::gateway {

bool LinkedDescriptors::HasService(std::string_view service) const { return Find(service) != nullptr; }

bool LinkedDescriptors::HasMethod(std::string_view service, std::string_view method) const {
    const auto* sd = Find(service);
    return sd != nullptr && sd->FindMethodByName(std::string(method)) != nullptr;
}

const google::protobuf::ServiceDescriptor* LinkedDescriptors::Find(std::string_view service) {
    return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
}

std::vector<common::EnvVar> ConfigVars() {
    return {
        {"CRM_JWT_HS256_SECRET", "HS256 key that verifies client JWTs (at least 32 characters)", "", true, true},
        {"CRM_JWT_ISSUER", "required \"iss\" of client JWTs", "crm-local"},
        {"CRM_JWT_AUDIENCE", "required \"aud\" of client JWTs", "crm-api"},
        {"CRM_JWT_LEEWAY_SECONDS", "clock skew tolerated on exp, nbf and iat (0..300)", "30"},
        {"CRM_ROUTES", "backends by proto package: pkg=host:port,... e.g. crm.contacts.v1=127.0.0.1:50051", "", true},
        {"CRM_GATEWAY_DEFAULT_DEADLINE_MS", "deadline of backend calls when the client sets none (100..600000)",
         "15000"},
        {"CRM_GATEWAY_POLICY_FILE",
         "JSON policy: roles allowed per method (default deny) and rate-limit plans per tenant "
         "(e.g. deploy/local/gateway-policy.json)",
         "", true},
        {"CRM_RATE_LIMIT_DEFAULT", "token bucket of tenants the policy does not name: rate_per_second:burst", "50:100"},
        {"CRM_RATE_LIMIT_FAIL_MODE",
         "when Redis is unavailable: open (serve without rate limits and revocation checks) or closed (UNAVAILABLE)",
         "open"},
        {"CRM_REDIS_URL", "Redis for rate limits and revoked tokens: redis://[[user]:password@]host[:port][/db]",
         "redis://127.0.0.1:6379"},
        {"CRM_REDIS_TIMEOUT_MS", "bound on connecting and on each Redis command (5..1000)", "50"},
        {"CRM_REDIS_POOL_SIZE", "Redis connections kept open (1..256)", "8"},
    };
}

GatewaySettings SettingsFromConfig(const common::Config& config) {
    std::vector<std::string> problems;
    GatewaySettings g;
    AdmissionSettings& s = g.admission;
    s.internal_key = config.Get("CRM_INTERNAL_KEY");
    s.jwt.secret = config.Get("CRM_JWT_HS256_SECRET");
    s.jwt.issuer = config.Get("CRM_JWT_ISSUER");
    s.jwt.audience = config.Get("CRM_JWT_AUDIENCE");
    if (s.jwt.secret.size() < 32) problems.push_back("CRM_JWT_HS256_SECRET: must be at least 32 characters");
    if (s.jwt.secret == s.internal_key) {
        problems.push_back("CRM_JWT_HS256_SECRET: must differ from CRM_INTERNAL_KEY (one key per purpose)");
    }
    auto integer = [&](const char* name, long min, long max, long fallback) {
        try {
            return config.GetInt(name, min, max);
        } catch (const common::ConfigError& e) {
            problems.push_back(e.what());
            return fallback;
        }
    };
    s.jwt.leeway = std::chrono::seconds(integer("CRM_JWT_LEEWAY_SECONDS", 0, 300, 30));
    g.proxy.default_deadline =
        std::chrono::milliseconds(integer("CRM_GATEWAY_DEFAULT_DEADLINE_MS", 100, 600000, 15000));
    try {
        g.proxy.routes = RouteTable::Parse(config.Get("CRM_ROUTES"));
    } catch (const std::invalid_argument& e) {
        problems.push_back(std::string("CRM_ROUTES: ") + e.what());
    }
    const std::string& policy_file = config.Get("CRM_GATEWAY_POLICY_FILE");
    try {
        const LinkedDescriptors catalog;
        s.policy = Policy::Load(policy_file, &catalog);
    } catch (const PolicyError& e) {
        for (const auto& p : e.problems()) problems.push_back("CRM_GATEWAY_POLICY_FILE " + policy_file + ": " + p);
    }
    if (auto limit = RateLimit::Parse(config.Get("CRM_RATE_LIMIT_DEFAULT"))) {
        s.default_rate_limit = *limit;
    } else {
        problems.push_back(
            "CRM_RATE_LIMIT_DEFAULT: must be rate_per_second:burst (rate 0 < r <= 1000000, burst a "
            "whole number 1..1000000), got '" +
            config.Get("CRM_RATE_LIMIT_DEFAULT") + "'");
    }
    const std::string& fail_mode = config.Get("CRM_RATE_LIMIT_FAIL_MODE");
    if (fail_mode == "open" || fail_mode == "closed") {
        s.fail_mode = fail_mode == "open" ? FailMode::kOpen : FailMode::kClosed;
    } else {
        problems.push_back("CRM_RATE_LIMIT_FAIL_MODE: must be open or closed, got '" + fail_mode + "'");
    }
    try {
        g.redis = RedisSettings::FromUrl(config.Get("CRM_REDIS_URL"));
    } catch (const std::invalid_argument& e) {
        problems.push_back(std::string("CRM_REDIS_URL: ") + e.what());  // never the URL: it may hold a password
    }
    g.redis.timeout = std::chrono::milliseconds(integer("CRM_REDIS_TIMEOUT_MS", 5, 1000, 50));
    g.redis.pool_size = static_cast<int>(integer("CRM_REDIS_POOL_SIZE", 1, 256, 8));
    if (!problems.empty()) {
        std::string message = "invalid configuration:";
        for (const auto& p : problems) message += "\n  - " + p;  // the format of Config::Check
        throw common::ConfigError(message);
    }
    return g;
}

void Register(common::ServiceApp& app) {
    GatewaySettings settings = SettingsFromConfig(app.config());
    for (const auto& r : settings.proxy.routes.routes()) {
        common::log::Info("route", {{"package", r.package}, {"target", r.target}});
    }
    common::log::Info("rate limiter",
                      {{"redis", settings.redis.Describe()},
                       {"fail_mode", settings.admission.fail_mode == FailMode::kOpen ? "open" : "closed"}});
    settings.admission.limiter = std::make_shared<RedisRateLimiter>(settings.redis);
    auto admission = std::make_shared<const Admission>(std::move(settings.admission), app.metrics());
    auto proxy = std::make_shared<Proxy>(std::move(settings.proxy), admission);
    app.ConfigureBuilder(
        [proxy](grpc::ServerBuilder& builder) { builder.RegisterCallbackGenericService(proxy->service()); });
    // The server has stopped and drained by now; calls still finishing their backend side release the proxy state.
    app.OnShutdown([proxy] {
        if (!proxy->WaitIdle(std::chrono::seconds(5))) {
            common::log::Warn("gateway calls still in flight at exit",
                              {{"calls", std::to_string(proxy->active_calls())}});
        }
    });
}

}  // namespace crm::gateway
