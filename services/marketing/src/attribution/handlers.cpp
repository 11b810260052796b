// RPCs of the attribution area: GetCampaignPerformance.
#include <grpcpp/grpcpp.h>

#include <limits>

#include "attribution/attribution.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "grpc_service.hpp"
#include "records.hpp"

namespace crm::marketing {

grpc::Status MarketingService::GetCampaignPerformance(grpc::ServerContext* sc,
                                                      const v1::GetCampaignPerformanceRequest* req,
                                                      v1::GetCampaignPerformanceResponse* resp) {
    return rpc_.Handle(sc, "GetCampaignPerformance", [&](const common::RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->campaign_id(), "campaign_id");
        std::int64_t start = common::kMinTimeSeconds * 1'000'000;
        std::int64_t end = NowMicros() + 1;
        if (req->has_start_time() &&
            common::CheckTime(v, req->start_time().seconds(), req->start_time().nanos(), "start_time")) {
            start = Micros(req->start_time());
        }
        if (req->has_end_time() &&
            common::CheckTime(v, req->end_time().seconds(), req->end_time().nanos(), "end_time")) {
            end = Micros(req->end_time());
        }
        if (v.empty() && end <= start) v.Add("end_time", "must be after start_time");
        v.ThrowIfAny();
        *resp = areas_.performance->Get(rc, id, start, end);
    });
}

}  // namespace crm::marketing
