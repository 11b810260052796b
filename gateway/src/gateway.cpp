#include "gateway.hpp"

#include <grpcpp/server_builder.h>

#include <stdexcept>
#include <string>

#include "crm/common/log.hpp"
#include "crm/common/service.hpp"

namespace crm::gateway {

std::vector<common::EnvVar> ConfigVars() {
    return {
        {"CRM_JWT_HS256_SECRET", "HS256 key that verifies client JWTs (at least 32 characters)", "", true, true},
        {"CRM_JWT_ISSUER", "required \"iss\" of client JWTs", "crm-local"},
        {"CRM_JWT_AUDIENCE", "required \"aud\" of client JWTs", "crm-api"},
        {"CRM_JWT_LEEWAY_SECONDS", "clock skew tolerated on exp, nbf and iat (0..300)", "30"},
        {"CRM_ROUTES", "backends by proto package: pkg=host:port,... e.g. crm.contacts.v1=127.0.0.1:50051", "", true},
        {"CRM_GATEWAY_DEFAULT_DEADLINE_MS", "deadline of backend calls when the client sets none (100..600000)",
         "15000"},
        {"CRM_REDIS_URL", "Redis for per-tenant rate limits (accepted, not used yet)", "redis://127.0.0.1:6379"},
    };
}

ProxySettings SettingsFromConfig(const common::Config& config) {
    std::vector<std::string> problems;
    ProxySettings s;
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
    s.default_deadline = std::chrono::milliseconds(integer("CRM_GATEWAY_DEFAULT_DEADLINE_MS", 100, 600000, 15000));
    try {
        s.routes = RouteTable::Parse(config.Get("CRM_ROUTES"));
    } catch (const std::invalid_argument& e) {
        problems.push_back(std::string("CRM_ROUTES: ") + e.what());
    }
    if (!problems.empty()) {
        std::string message = "invalid configuration:";
        for (const auto& p : problems) message += "\n  - " + p;  // the format of Config::Check
        throw common::ConfigError(message);
    }
    return s;
}

void Register(common::ServiceApp& app) {
    ProxySettings settings = SettingsFromConfig(app.config());
    for (const auto& r : settings.routes.routes()) {
        common::log::Info("route", {{"package", r.package}, {"target", r.target}});
    }
    auto proxy = std::make_shared<Proxy>(std::move(settings), app.metrics());
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
