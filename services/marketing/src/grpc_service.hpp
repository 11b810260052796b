#pragma once
// crm.marketing.v1.MarketingService: one class. Each area defines its RPC members in its own handlers.cpp: the request
// checks (the kit's validators collecting common::Violations, every field before any lookup or write), one call into
// the area's application code, the response. Errors leave as common::ApiError through the common RPC boundary.
#include <grpcpp/support/status.h>

#include <memory>

#include "crm/marketing/v1/marketing.grpc.pb.h"

namespace prometheus {
class Counter;
}

namespace crm::common {
class Metrics;
class RpcRuntime;
}  // namespace crm::common

namespace crm::marketing {

namespace campaigns {
class Campaigns;
}

// The application code of every area, as the handlers call it.
struct Areas {
    std::shared_ptr<campaigns::Campaigns> campaigns;
};

// The service's own metrics (crm_marketing_*), next to the kit's RPC metrics.
struct MarketingMetrics {
    explicit MarketingMetrics(common::Metrics& metrics);
    prometheus::Counter* campaigns_created;
};

class MarketingService final : public v1::MarketingService::Service {
  public:
    MarketingService(common::RpcRuntime& rpc, common::Metrics& metrics, Areas areas)
        : rpc_(rpc), metrics_(metrics), areas_(std::move(areas)) {}

    // campaigns/handlers.cpp
    grpc::Status CreateCampaign(grpc::ServerContext* sc, const v1::CreateCampaignRequest* req,
                                v1::CreateCampaignResponse* resp) override;
    grpc::Status GetCampaign(grpc::ServerContext* sc, const v1::GetCampaignRequest* req,
                             v1::GetCampaignResponse* resp) override;
    grpc::Status ListCampaigns(grpc::ServerContext* sc, const v1::ListCampaignsRequest* req,
                               v1::ListCampaignsResponse* resp) override;
    grpc::Status UpdateCampaign(grpc::ServerContext* sc, const v1::UpdateCampaignRequest* req,
                                v1::UpdateCampaignResponse* resp) override;
    grpc::Status AddCampaignCost(grpc::ServerContext* sc, const v1::AddCampaignCostRequest* req,
                                 v1::AddCampaignCostResponse* resp) override;
    grpc::Status ListCampaignCosts(grpc::ServerContext* sc, const v1::ListCampaignCostsRequest* req,
                                   v1::ListCampaignCostsResponse* resp) override;
    grpc::Status CreateTrackedLink(grpc::ServerContext* sc, const v1::CreateTrackedLinkRequest* req,
                                   v1::CreateTrackedLinkResponse* resp) override;
    grpc::Status ListTrackedLinks(grpc::ServerContext* sc, const v1::ListTrackedLinksRequest* req,
                                  v1::ListTrackedLinksResponse* resp) override;

  private:
    common::RpcRuntime& rpc_;
    MarketingMetrics metrics_;
    Areas areas_;
};

}  // namespace crm::marketing
