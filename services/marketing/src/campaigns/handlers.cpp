// RPCs of the campaigns area: campaigns, cost lines, tracked links.
#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>

#include <string>
#include <vector>

#include "campaigns/campaigns.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "grpc_service.hpp"

namespace crm::marketing {
namespace {

using common::ApiError;
using common::RequestContext;

const std::vector<std::string> kUpdatable = {
    "name",   "description",        "type", "status", "start_date", "end_date", "owner_id",
    "budget", "parent_campaign_id", "goal"};

// page_size first, so that a negative one is named with the other problems.
int PageSize(common::Violations& v, int requested) {
    if (requested < 0) {
        v.Add("page_size", "must not be negative");
        return 0;
    }
    return common::ResolvePageSize(requested);
}

}  // namespace

grpc::Status MarketingService::CreateCampaign(grpc::ServerContext* sc, const v1::CreateCampaignRequest* req,
                                              v1::CreateCampaignResponse* resp) {
    return rpc_.Handle(sc, "CreateCampaign", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const v1::Campaign campaign = campaigns::CheckedCampaign(req->campaign(), true, {}, v);
        common::CheckRequestId(v, req->request_id());
        v.ThrowIfAny();
        *resp->mutable_campaign() = areas_.campaigns->Create(rc, campaign, req->request_id());
        metrics_.campaigns_created->Increment();
    });
}

grpc::Status MarketingService::GetCampaign(grpc::ServerContext* sc, const v1::GetCampaignRequest* req,
                                           v1::GetCampaignResponse* resp) {
    return rpc_.Handle(sc, "GetCampaign", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_campaign() = areas_.campaigns->Get(rc, id);
    });
}

grpc::Status MarketingService::ListCampaigns(grpc::ServerContext* sc, const v1::ListCampaignsRequest* req,
                                             v1::ListCampaignsResponse* resp) {
    return rpc_.Handle(sc, "ListCampaigns", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        campaigns::ListQuery q;
        q.page_size = PageSize(v, req->page_size());
        q.page_token = req->page_token();
        if (!v1::CampaignStatus_IsValid(req->status())) v.Add("status", "unknown campaign status");
        if (!v1::CampaignType_IsValid(req->type())) v.Add("type", "unknown campaign type");
        if (!req->parent_campaign_id().empty()) {
            q.parent_campaign_id = common::CheckId(v, req->parent_campaign_id(), "parent_campaign_id");
        }
        common::CheckText(v, req->page_token(), "page_token", {.max_chars = 1000});
        v.ThrowIfAny();
        if (req->status() != v1::CAMPAIGN_STATUS_UNSPECIFIED) q.status = campaigns::StatusText(req->status());
        if (req->type() != v1::CAMPAIGN_TYPE_UNSPECIFIED) q.type = campaigns::TypeText(req->type());
        auto page = areas_.campaigns->List(rc, q);
        for (auto& c : page.items) *resp->add_campaigns() = std::move(c);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status MarketingService::UpdateCampaign(grpc::ServerContext* sc, const v1::UpdateCampaignRequest* req,
                                              v1::UpdateCampaignResponse* resp) {
    return rpc_.Handle(sc, "UpdateCampaign", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->campaign().id(), "campaign.id");
        const std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
        try {
            common::ValidateUpdateMask(paths, kUpdatable);
        } catch (const ApiError& e) {
            v.Append(e.violations());  // reported with the other fields' problems in one answer
        }
        v1::Campaign patch = campaigns::CheckedCampaign(req->campaign(), false, paths, v);
        v.ThrowIfAny();
        patch.set_id(id);
        *resp->mutable_campaign() = areas_.campaigns->Update(rc, patch, paths, req->campaign().etag());
    });
}

grpc::Status MarketingService::AddCampaignCost(grpc::ServerContext* sc, const v1::AddCampaignCostRequest* req,
                                               v1::AddCampaignCostResponse* resp) {
    return rpc_.Handle(sc, "AddCampaignCost", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string campaign_id = common::CheckId(v, req->campaign_id(), "campaign_id");
        const v1::CampaignCost cost = campaigns::CheckedCost(req->cost(), v);
        common::CheckRequestId(v, req->request_id());
        v.ThrowIfAny();
        auto [added, campaign] = areas_.campaigns->AddCost(rc, campaign_id, cost, req->request_id());
        *resp->mutable_cost() = std::move(added);
        *resp->mutable_campaign() = std::move(campaign);
    });
}

grpc::Status MarketingService::ListCampaignCosts(grpc::ServerContext* sc, const v1::ListCampaignCostsRequest* req,
                                                 v1::ListCampaignCostsResponse* resp) {
    return rpc_.Handle(sc, "ListCampaignCosts", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string campaign_id = common::CheckId(v, req->campaign_id(), "campaign_id");
        const int page_size = PageSize(v, req->page_size());
        common::CheckText(v, req->page_token(), "page_token", {.max_chars = 1000});
        v.ThrowIfAny();
        auto page = areas_.campaigns->ListCosts(rc, campaign_id, page_size, req->page_token());
        for (auto& c : page.items) *resp->add_costs() = std::move(c);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status MarketingService::CreateTrackedLink(grpc::ServerContext* sc, const v1::CreateTrackedLinkRequest* req,
                                                 v1::CreateTrackedLinkResponse* resp) {
    return rpc_.Handle(sc, "CreateTrackedLink", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string campaign_id = common::CheckId(v, req->campaign_id(), "campaign_id");
        const v1::TrackedLink link = campaigns::CheckedLink(req->link(), v);
        common::CheckRequestId(v, req->request_id());
        v.ThrowIfAny();
        *resp->mutable_link() = areas_.campaigns->CreateLink(rc, campaign_id, link, req->request_id());
    });
}

grpc::Status MarketingService::ListTrackedLinks(grpc::ServerContext* sc, const v1::ListTrackedLinksRequest* req,
                                                v1::ListTrackedLinksResponse* resp) {
    return rpc_.Handle(sc, "ListTrackedLinks", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string campaign_id = common::CheckId(v, req->campaign_id(), "campaign_id");
        const int page_size = PageSize(v, req->page_size());
        common::CheckText(v, req->page_token(), "page_token", {.max_chars = 1000});
        v.ThrowIfAny();
        auto page = areas_.campaigns->ListLinks(rc, campaign_id, page_size, req->page_token());
        for (auto& l : page.items) *resp->add_links() = std::move(l);
        resp->set_next_page_token(page.next_page_token);
    });
}

}  // namespace crm::marketing
