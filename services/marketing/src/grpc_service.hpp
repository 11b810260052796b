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
namespace audience {
class Audience;
}
namespace segments {
class Segments;
}

// The application code of every area, as the handlers call it.
struct Areas {
    std::shared_ptr<campaigns::Campaigns> campaigns;
    std::shared_ptr<audience::Audience> audience;
    std::shared_ptr<segments::Segments> segments;
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

    // audience/handlers.cpp
    grpc::Status GetAudienceMember(grpc::ServerContext* sc, const v1::GetAudienceMemberRequest* req,
                                   v1::GetAudienceMemberResponse* resp) override;

    // segments/handlers.cpp
    grpc::Status CreateSegment(grpc::ServerContext* sc, const v1::CreateSegmentRequest* req,
                               v1::CreateSegmentResponse* resp) override;
    grpc::Status GetSegment(grpc::ServerContext* sc, const v1::GetSegmentRequest* req,
                            v1::GetSegmentResponse* resp) override;
    grpc::Status ListSegments(grpc::ServerContext* sc, const v1::ListSegmentsRequest* req,
                              v1::ListSegmentsResponse* resp) override;
    grpc::Status UpdateSegment(grpc::ServerContext* sc, const v1::UpdateSegmentRequest* req,
                               v1::UpdateSegmentResponse* resp) override;
    grpc::Status AddSegmentMembers(grpc::ServerContext* sc, const v1::AddSegmentMembersRequest* req,
                                   v1::AddSegmentMembersResponse* resp) override;
    grpc::Status RemoveSegmentMembers(grpc::ServerContext* sc, const v1::RemoveSegmentMembersRequest* req,
                                      v1::RemoveSegmentMembersResponse* resp) override;
    grpc::Status ListSegmentMembers(grpc::ServerContext* sc, const v1::ListSegmentMembersRequest* req,
                                    v1::ListSegmentMembersResponse* resp) override;
    grpc::Status PreviewSegment(grpc::ServerContext* sc, const v1::PreviewSegmentRequest* req,
                                v1::PreviewSegmentResponse* resp) override;

  private:
    common::RpcRuntime& rpc_;
    MarketingMetrics metrics_;
    Areas areas_;
};

}  // namespace crm::marketing
