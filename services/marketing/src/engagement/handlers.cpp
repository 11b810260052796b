// RPCs of the engagement area: ListPersonEngagement.
#include <grpcpp/grpcpp.h>

#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "engagement/engagement.hpp"
#include "grpc_service.hpp"

namespace crm::marketing {

grpc::Status MarketingService::ListPersonEngagement(grpc::ServerContext* sc, const v1::ListPersonEngagementRequest* req,
                                                    v1::ListPersonEngagementResponse* resp) {
    return rpc_.Handle(sc, "ListPersonEngagement", [&](const common::RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string person_id = common::CheckId(v, req->person_id(), "person_id");
        int page_size = 0;
        if (req->page_size() < 0) {
            v.Add("page_size", "must not be negative");
        } else {
            page_size = common::ResolvePageSize(req->page_size());
        }
        common::CheckText(v, req->page_token(), "page_token", {.max_chars = 1000});
        v.ThrowIfAny();
        auto page = areas_.engagement->List(rc, person_id, page_size, req->page_token());
        for (auto& e : page.items) *resp->add_engagements() = std::move(e);
        resp->set_next_page_token(page.next_page_token);
    });
}

}  // namespace crm::marketing
