// The forecast RPCs of SalesService (see grpc_service.hpp).
#include <prometheus/counter.h>

#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "forecast/forecast.hpp"
#include "grpc_service.hpp"

namespace crm::sales {
namespace {

using common::RequestContext;

// The month or quarter containing the request's start_date.
domain::Period PeriodFrom(common::Violations& v, const v1::Period& p, const std::string& field) {
    if (p.type() != v1::PERIOD_TYPE_MONTH && p.type() != v1::PERIOD_TYPE_QUARTER) {
        v.Add(field + ".type", "PERIOD_TYPE_MONTH or PERIOD_TYPE_QUARTER");
    }
    std::optional<domain::Days> day;
    if (p.start_date().empty()) {
        v.Add(field + ".start_date", "is required: a date YYYY-MM-DD in the period");
    } else {
        day = domain::CheckDate(v, p.start_date(), field + ".start_date");
    }
    return domain::PeriodContaining(static_cast<domain::PeriodType>(p.type()), day.value_or(0));
}

}  // namespace

grpc::Status SalesService::GetForecast(grpc::ServerContext* sc, const v1::GetForecastRequest* req,
                                       v1::GetForecastResponse* resp) {
    return rpc_.Handle(sc, "GetForecast", [&](const RequestContext& rc) {
        common::Violations v;
        v1::GetForecastRequest in = *req;
        const domain::Period period = PeriodFrom(v, in.period(), "period");
        common::CheckCurrency(v, in.currency_code(), "currency_code");
        in.set_pipeline_id(domain::CheckOptionalId(v, in.pipeline_id(), "pipeline_id"));
        common::CheckToken(v, in.owner_id(), "owner_id", domain::kMaxOwnerLength);
        v.ThrowIfAny();
        *resp = forecast::Get(db_, rc, in, period);
    });
}

grpc::Status SalesService::TakeForecastSnapshot(grpc::ServerContext* sc, const v1::TakeForecastSnapshotRequest* req,
                                                v1::TakeForecastSnapshotResponse* resp) {
    return rpc_.Handle(sc, "TakeForecastSnapshot", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        const domain::Period period = PeriodFrom(v, req->period(), "period");
        common::CheckCurrency(v, req->currency_code(), "currency_code");
        v.ThrowIfAny();
        *resp->mutable_snapshot() =
            forecast::TakeSnapshot(db_, outbox_, rc, period, req->currency_code(), req->request_id());
        metrics_.snapshots_manual.Increment();
    });
}

grpc::Status SalesService::ListForecastSnapshots(grpc::ServerContext* sc, const v1::ListForecastSnapshotsRequest* req,
                                                 v1::ListForecastSnapshotsResponse* resp) {
    return rpc_.Handle(sc, "ListForecastSnapshots", [&](const RequestContext& rc) {
        common::Violations v;
        const int size = common::ResolvePageSize(req->page_size());
        const domain::Period period = PeriodFrom(v, req->period(), "period");
        common::CheckCurrency(v, req->currency_code(), "currency_code");
        v.ThrowIfAny();
        auto page = forecast::ListSnapshots(db_, rc, period, req->currency_code(), size, req->page_token());
        for (auto& s : page.items) *resp->add_snapshots() = std::move(s);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status SalesService::GetForecastAccuracy(grpc::ServerContext* sc, const v1::GetForecastAccuracyRequest* req,
                                               v1::GetForecastAccuracyResponse* resp) {
    return rpc_.Handle(sc, "GetForecastAccuracy", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->snapshot_id(), "snapshot_id");
        v.ThrowIfAny();
        *resp = forecast::GetAccuracy(db_, rc, id);
    });
}

}  // namespace crm::sales
