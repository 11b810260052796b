// Wiring of the marketing service: its settings (the only code here that reads configuration), the application code of
// every area and the gRPC service.
#include "register.hpp"

#include "campaigns/campaigns.hpp"
#include "crm/common/service.hpp"
#include "grpc_service.hpp"

namespace crm::marketing {
namespace {

constexpr char kPublicBaseUrl[] = "CRM_MARKETING_PUBLIC_BASE_URL";

}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    return {
        {kPublicBaseUrl,
         "public base URL of the gateway's HTTP side that serves tracked links (<base>/r/<token>) and unsubscribe "
         "links, without a trailing slash",
         "http://127.0.0.1:8080"},
    };
}

void Register(common::ServiceApp& app) {
    const auto& config = app.config();
    campaigns::Settings campaign_settings{.internal_key = config.Get("CRM_INTERNAL_KEY"),
                                          .public_base_url = config.Get(kPublicBaseUrl)};
    const std::string& base = campaign_settings.public_base_url;
    if ((base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) || base.back() == '/') {
        throw common::ConfigError(std::string(kPublicBaseUrl) +
                                  " must be an http:// or https:// URL without a trailing slash");
    }

    Areas areas;
    areas.campaigns = std::make_shared<campaigns::Campaigns>(app.db(), app.outbox(), campaign_settings);
    app.AddService(std::make_shared<MarketingService>(app.rpc(), app.metrics(), std::move(areas)));
}

}  // namespace crm::marketing
