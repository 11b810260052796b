// GetSupportKpis: request checks, the support facts the period needs (support_kpis/store.hpp) and the KPI math of
// domain/support_kpis.hpp.
#include <algorithm>

#include "crm/common/db.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "domain/support_kpis.hpp"
#include "grpc_service.hpp"
#include "kpis/request.hpp"
#include "projection/proto_time.hpp"
#include "support_kpis/store.hpp"

namespace crm::analytics {
namespace {

using common::RequestContext;
using domain::Micros;
using grpc::ServerContext;
using grpc::Status;
using projection::ToTimestamp;
using namespace request;
using request::ToProto;

void ToProto(const domain::SupportKpiSet& k, v1::SupportKpis* out) {
    *out->mutable_first_response() = ToProto(k.first_response);
    *out->mutable_resolution() = ToProto(k.resolution);
    *out->mutable_first_response_sla() = ToProto(k.first_response_sla);
    *out->mutable_resolution_sla() = ToProto(k.resolution_sla);
    out->set_backlog(k.backlog);
    auto* csat = out->mutable_csat();
    csat->set_responses(k.csat_responses);
    csat->set_score_sum(k.csat_score_sum);
    csat->set_average_score(
        k.csat_responses ? static_cast<double>(k.csat_score_sum) / static_cast<double>(k.csat_responses) : 0.0);
    *csat->mutable_satisfied() = ToProto(domain::Counts{k.csat_satisfied, k.csat_responses});
    *out->mutable_reopen_rate() = ToProto(k.reopen);
    *out->mutable_first_response_business() = ToProto(k.first_response_business);
    *out->mutable_resolution_business() = ToProto(k.resolution_business);
    out->set_first_response_no_sla(k.first_response_no_sla);
    out->set_resolution_no_sla(k.resolution_no_sla);
}

}  // namespace

Status AnalyticsService::GetSupportKpis(ServerContext* sc, const v1::GetSupportKpisRequest* req,
                                        v1::GetSupportKpisResponse* resp) {
    return rpc_.Handle(sc, "GetSupportKpis", [&](const RequestContext& rc) {
        Checks checks;
        const domain::Period period =
            checks.Period(req->has_start_time(), req->start_time(), req->has_end_time(), req->end_time());
        common::CheckToken(checks.violations(), req->queue_id(), "queue_id", kMaxFilterLength);
        common::CheckToken(checks.violations(), req->agent_id(), "agent_id", kMaxFilterLength);
        const Micros now = Now();
        const Micros as_of = AsOf(checks, req->has_as_of_time(), req->as_of_time(), period.end, now);
        checks.ThrowIfAny();

        domain::SupportQuery q{period.start, period.end, as_of, req->queue_id(), req->agent_id()};
        const domain::SupportFacts facts = db_.InTenant(rc, [&](pqxx::work& tx) {
            return support::LoadFor(db_, tx, rc.tenant_id, std::min(q.start, q.as_of), std::max(q.end, q.as_of),
                                    q.start, q.end);
        });
        const domain::SupportKpiReport k = domain::ComputeSupportKpis(facts.cases, facts.csat, q);

        *resp->mutable_start_time() = req->start_time();
        *resp->mutable_end_time() = req->end_time();
        *resp->mutable_as_of_time() = ToTimestamp(as_of);
        ToProto(k.total, resp->mutable_total());
        for (const auto& [id, set] : k.queues) {
            auto* g = resp->add_queues();
            g->set_id(id);
            ToProto(set, g->mutable_kpis());
        }
        for (const auto& [id, set] : k.agents) {
            auto* g = resp->add_agents();
            g->set_id(id);
            ToProto(set, g->mutable_kpis());
        }
    });
}

}  // namespace crm::analytics
