#pragma once
// crm.marketing.v1.MarketingService: one class. Each area defines its RPC members in its own handlers.cpp: the request
// checks (the kit's validators collecting common::Violations, every field before any lookup or write), one call into
// the area's application code, the response. Errors leave as common::ApiError through the common RPC boundary.
#include <grpcpp/support/status.h>

#include <memory>

#include "crm/common/rpc.hpp"
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
namespace email {
class Email;
}
namespace tracking {
class Tracking;
}
namespace attribution {
class Performance;
}
namespace sequences {
class Sequences;
}
namespace engagement {
class Engagement;
}

// The application code of every area, as the handlers call it.
struct Areas {
    std::shared_ptr<campaigns::Campaigns> campaigns;
    std::shared_ptr<audience::Audience> audience;
    std::shared_ptr<segments::Segments> segments;
    std::shared_ptr<email::Email> email;
    std::shared_ptr<tracking::Tracking> tracking;
    std::shared_ptr<attribution::Performance> performance;
    std::shared_ptr<sequences::Sequences> sequences;
    std::shared_ptr<engagement::Engagement> engagement;
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
    // engagement/handlers.cpp
    grpc::Status ListPersonEngagement(grpc::ServerContext* sc, const v1::ListPersonEngagementRequest* req,
                                      v1::ListPersonEngagementResponse* resp) override;

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

    // email/handlers.cpp
    grpc::Status GetEmailSettings(grpc::ServerContext* sc, const v1::GetEmailSettingsRequest* req,
                                  v1::GetEmailSettingsResponse* resp) override;
    grpc::Status UpdateEmailSettings(grpc::ServerContext* sc, const v1::UpdateEmailSettingsRequest* req,
                                     v1::UpdateEmailSettingsResponse* resp) override;
    grpc::Status CreateEmailTemplate(grpc::ServerContext* sc, const v1::CreateEmailTemplateRequest* req,
                                     v1::CreateEmailTemplateResponse* resp) override;
    grpc::Status GetEmailTemplate(grpc::ServerContext* sc, const v1::GetEmailTemplateRequest* req,
                                  v1::GetEmailTemplateResponse* resp) override;
    grpc::Status CreateEmailSend(grpc::ServerContext* sc, const v1::CreateEmailSendRequest* req,
                                 v1::CreateEmailSendResponse* resp) override;
    grpc::Status GetEmailSend(grpc::ServerContext* sc, const v1::GetEmailSendRequest* req,
                              v1::GetEmailSendResponse* resp) override;

    // tracking/handlers.cpp (public: the gateway admits them with a signed link token and the role "public")
    grpc::Status OpenTrackedLink(grpc::ServerContext* sc, const v1::OpenTrackedLinkRequest* req,
                                 v1::OpenTrackedLinkResponse* resp) override;
    grpc::Status Unsubscribe(grpc::ServerContext* sc, const v1::UnsubscribeRequest* req,
                             v1::UnsubscribeResponse* resp) override;
    grpc::Status OpenEmailPixel(grpc::ServerContext* sc, const v1::OpenEmailPixelRequest* req,
                                v1::OpenEmailPixelResponse* resp) override;

    // attribution/handlers.cpp
    grpc::Status GetCampaignPerformance(grpc::ServerContext* sc, const v1::GetCampaignPerformanceRequest* req,
                                        v1::GetCampaignPerformanceResponse* resp) override;

    // sequences/handlers.cpp
    grpc::Status CreateSequence(grpc::ServerContext* sc, const v1::CreateSequenceRequest* req,
                                v1::CreateSequenceResponse* resp) override;
    grpc::Status GetSequence(grpc::ServerContext* sc, const v1::GetSequenceRequest* req,
                             v1::GetSequenceResponse* resp) override;
    grpc::Status ListSequences(grpc::ServerContext* sc, const v1::ListSequencesRequest* req,
                               v1::ListSequencesResponse* resp) override;
    grpc::Status UpdateSequence(grpc::ServerContext* sc, const v1::UpdateSequenceRequest* req,
                                v1::UpdateSequenceResponse* resp) override;
    grpc::Status ListSequenceEnrolments(grpc::ServerContext* sc, const v1::ListSequenceEnrolmentsRequest* req,
                                        v1::ListSequenceEnrolmentsResponse* resp) override;
    grpc::Status GetSequenceSplitReport(grpc::ServerContext* sc, const v1::GetSequenceSplitReportRequest* req,
                                        v1::GetSequenceSplitReportResponse* resp) override;

    // Every RPC but the public ones refuses a caller whose only role is "public" (a link token's identity).
    static void RefusePublic(const common::RequestContext& rc);

  private:
    common::RpcRuntime& rpc_;
    MarketingMetrics metrics_;
    Areas areas_;
};

}  // namespace crm::marketing
