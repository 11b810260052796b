// GetFieldKpis: request checks, the field facts the period needs (field_kpis/store.hpp) and the KPI math of
// domain/field_kpis.hpp.
#include "crm/common/db.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "domain/field_kpis.hpp"
#include "field_kpis/store.hpp"
#include "grpc_service.hpp"
#include "kpis/request.hpp"

namespace crm::analytics {
namespace {

using common::RequestContext;
using domain::Micros;
using grpc::ServerContext;
using grpc::Status;
using namespace request;
using request::ToProto;

double Share(int64_t part, int64_t whole) {
    return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

void ToProto(const domain::FieldKpiSet& k, v1::FieldKpis* out) {
    *out->mutable_first_time_fix() = ToProto(k.first_time_fix);
    *out->mutable_time_to_complete() = ToProto(k.time_to_complete);
    *out->mutable_on_site() = ToProto(k.on_site);
    *out->mutable_travel() = ToProto(k.travel);
    out->set_travel_share(Share(k.travel.total_micros, k.travel.total_micros + k.on_site.total_micros));
    out->set_worked_seconds(domain::Durations{1, k.worked_micros}.TotalSeconds());
    out->set_available_seconds(domain::Durations{1, k.available_micros}.TotalSeconds());
    out->set_utilisation(Share(k.worked_micros, k.available_micros));
    *out->mutable_window_kept() = ToProto(k.window_kept);
}

}  // namespace

Status AnalyticsService::GetFieldKpis(ServerContext* sc, const v1::GetFieldKpisRequest* req,
                                      v1::GetFieldKpisResponse* resp) {
    return rpc_.Handle(sc, "GetFieldKpis", [&](const RequestContext& rc) {
        Checks checks;
        const domain::Period period =
            checks.Period(req->has_start_time(), req->start_time(), req->has_end_time(), req->end_time());
        common::CheckToken(checks.violations(), req->technician_id(), "technician_id", kMaxFilterLength);
        common::CheckToken(checks.violations(), req->territory(), "territory", kMaxFilterLength);
        checks.ThrowIfAny();

        const domain::FieldQuery q{period.start, period.end, req->technician_id(), req->territory()};
        const domain::FieldFacts facts =
            db_.InTenant(rc, [&](pqxx::work& tx) { return field::LoadFor(db_, tx, rc.tenant_id, q.start, q.end); });
        const domain::FieldKpiReport k = domain::ComputeFieldKpis(facts.completions, facts.technicians, q);

        *resp->mutable_start_time() = req->start_time();
        *resp->mutable_end_time() = req->end_time();
        ToProto(k.total, resp->mutable_total());
        for (const auto& [id, set] : k.technicians) {
            auto* g = resp->add_technicians();
            g->set_id(id);
            ToProto(set, g->mutable_kpis());
        }
        for (const auto& [id, set] : k.territories) {
            auto* g = resp->add_territories();
            g->set_id(id);
            ToProto(set, g->mutable_kpis());
        }
    });
}

}  // namespace crm::analytics
