// RPCs of the conversion area: ConvertLead.
#include <grpcpp/grpcpp.h>

#include <string>

#include "conversion/conversion.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "domain/lead.hpp"
#include "grpc_service.hpp"

namespace crm::leads {
namespace {

constexpr std::size_t kMaxPipelineId = 64;

}  // namespace

grpc::Status LeadsService::ConvertLead(grpc::ServerContext* sc, const v1::ConvertLeadRequest* req,
                                       v1::ConvertLeadResponse* resp) {
    return rpc_.Handle(sc, "ConvertLead", [&](const common::RequestContext& rc) {
        common::Violations v;
        v1::ConvertLeadRequest checked = *req;
        checked.set_id(common::CheckId(v, req->id(), "id"));
        if (req->create_opportunity()) {
            const auto& o = req->opportunity();
            common::CheckText(v, o.name(), "opportunity.name", common::kRequiredName);
            common::CheckMoney(v, o.amount().amount_minor(), o.amount().currency_code(), "opportunity.amount");
            common::CheckToken(v, o.pipeline_id(), "opportunity.pipeline_id", kMaxPipelineId);
            if (!o.expected_close_date().empty() && !domain::IsIsoDate(o.expected_close_date())) {
                v.Add("opportunity.expected_close_date", "a date YYYY-MM-DD");
            }
        } else if (req->has_opportunity()) {
            v.Add("opportunity", "set create_opportunity to create one");
        }
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        v.ThrowIfAny();
        *resp = areas_.conversion->Convert(rc, checked);
    });
}

}  // namespace crm::leads
