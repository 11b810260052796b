// GetCampaignKpis: request checks, the campaign facts of the period (campaign_kpis/store.hpp) and the KPI math of
// campaign_kpis/facts.hpp.
#include "campaign_kpis/facts.hpp"
#include "campaign_kpis/store.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/rpc.hpp"
#include "grpc_service.hpp"
#include "kpis/request.hpp"

namespace crm::analytics {

using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;
using namespace request;

Status AnalyticsService::GetCampaignKpis(ServerContext* sc, const v1::GetCampaignKpisRequest* req,
                                         v1::GetCampaignKpisResponse* resp) {
    return rpc_.Handle(sc, "GetCampaignKpis", [&](const RequestContext& rc) {
        Checks checks;
        const domain::Period period =
            checks.Period(req->has_start_time(), req->start_time(), req->has_end_time(), req->end_time());
        std::string campaign_id = projection::UuidOrEmpty(req->campaign_id());
        if (!req->campaign_id().empty() && campaign_id.empty()) checks.Add("campaign_id", "must be a UUID");
        checks.ThrowIfAny();

        const campaign::PeriodInputs in = db_.InTenant(rc, [&](pqxx::work& tx) {
            return campaign::LoadFor(db_, tx, rc.tenant_id, period.start, period.end, campaign_id);
        });
        *resp->mutable_start_time() = req->start_time();
        *resp->mutable_end_time() = req->end_time();
        for (const campaign::CampaignKpis& k : campaign::ComputeCampaignKpis(in, campaign_id)) {
            auto* out = resp->add_campaigns();
            out->set_campaign_id(k.campaign_id);
            out->set_leads(k.leads);
            for (const campaign::CurrencyKpis& c : k.currencies) {
                auto* cur = out->add_currencies();
                cur->set_currency_code(c.currency);
                cur->set_cost_minor(c.cost_minor);
                cur->set_cost_per_lead_minor(c.cost_per_lead_minor);
                for (const campaign::ModelKpis& m : c.models) {
                    auto* model = cur->add_models();
                    model->set_model(m.model);
                    model->set_revenue_minor(m.revenue_minor);
                    model->set_net_minor(m.net_minor);
                    model->set_roi(m.roi);
                    model->set_roi_defined(m.roi_defined);
                }
            }
        }
    });
}

}  // namespace crm::analytics
