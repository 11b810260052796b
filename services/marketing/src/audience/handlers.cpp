// RPCs of the audience area: GetAudienceMember.
#include <grpcpp/grpcpp.h>

#include "audience/audience.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "grpc_service.hpp"

namespace crm::marketing {

grpc::Status MarketingService::GetAudienceMember(grpc::ServerContext* sc, const v1::GetAudienceMemberRequest* req,
                                                 v1::GetAudienceMemberResponse* resp) {
    return rpc_.Handle(sc, "GetAudienceMember", [&](const common::RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp = areas_.audience->GetWithTouches(rc, id);
    });
}

}  // namespace crm::marketing
