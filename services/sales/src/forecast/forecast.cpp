// Forecasts, snapshots and their scheduler (see forecast.hpp).
#include "forecast/forecast.hpp"

#include <crm/sales/events/v1/events.pb.h>
#include <google/protobuf/util/json_util.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "domain/forecast.hpp"
#include "forecast/sql.hpp"
#include "pipelines/pipelines.hpp"
#include "records.hpp"

namespace crm::sales::forecast {
namespace {

namespace ev = crm::sales::events::v1;
using common::ApiError;

const char* PeriodText(domain::PeriodType t) { return t == domain::PeriodType::kQuarter ? "QUARTER" : "MONTH"; }

void FillPeriod(v1::Period* out, const domain::Period& p) {
    out->set_type(static_cast<v1::PeriodType>(p.type));
    out->set_start_date(domain::FormatDate(p.first));
    out->set_end_date(domain::FormatDate(p.last));
}

void FillFigures(v1::ForecastFigures* out, const domain::Figures& f) {
    out->set_pipeline_amount(f.pipeline);
    out->set_best_case_amount(f.best_case);
    out->set_commit_amount(f.commit);
    out->set_closed_won_amount(f.closed_won);
    out->set_closed_lost_amount(f.closed_lost);
    out->set_weighted_amount(f.weighted);
    out->set_open_count(f.open_count);
    out->set_won_count(f.won_count);
    out->set_lost_count(f.lost_count);
}

domain::Figures FiguresOf(const v1::ForecastFigures& f) {
    domain::Figures out;
    out.pipeline = f.pipeline_amount();
    out.best_case = f.best_case_amount();
    out.commit = f.commit_amount();
    out.closed_won = f.closed_won_amount();
    out.closed_lost = f.closed_lost_amount();
    out.weighted = f.weighted_amount();
    out.open_count = f.open_count();
    out.won_count = f.won_count();
    out.lost_count = f.lost_count();
    return out;
}

// The deals of the period in `currency` (optionally of one pipeline and owner), folded by domain::ComputeForecast.
domain::Forecast Compute(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                         const domain::Period& period, const std::string& currency, const std::string& pipeline_id,
                         const std::string& owner_id) {
    const std::string first = domain::FormatDate(period.first), last = domain::FormatDate(period.last);
    std::vector<domain::ForecastDeal> deals;
    for (const auto* statement : {&sql::kForecastOpen, &sql::kForecastClosed}) {
        for (const auto& r : db.Exec(tx, *statement, tenant, currency, first, last, common::NullIfEmpty(pipeline_id),
                                     common::NullIfEmpty(owner_id))) {
            deals.push_back({r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<int>(),
                             domain::ParseCategory(r[3].as<std::string>()),
                             domain::ParseStatus(r[4].as<std::string>())});
        }
    }
    return domain::ComputeForecast(deals);
}

v1::ForecastSnapshot ReadSnapshot(const pqxx::row& r) {
    v1::ForecastSnapshot s;
    if (!google::protobuf::util::JsonStringToMessage(r[1].c_str(), &s).ok()) {
        throw std::runtime_error("stored snapshot is not valid JSON");
    }
    s.set_id(r[0].as<std::string>());
    return s;
}

v1::ForecastSnapshot InsertSnapshot(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                    const std::string& tenant, const std::string& request_id, const std::string& id,
                                    const domain::Period& period, const std::string& currency,
                                    const std::string& trigger) {
    const domain::Forecast f = Compute(db, tx, tenant, period, currency, "", "");
    v1::ForecastSnapshot s;
    s.set_id(id);
    FillPeriod(s.mutable_period(), period);
    s.set_currency_code(currency);
    s.set_trigger(trigger);
    FillFigures(s.mutable_totals(), f.totals);
    for (const auto& [owner, figures] : f.by_owner) {
        v1::ForecastLine* line = s.add_by_owner();
        line->set_owner_id(owner);
        FillFigures(line->mutable_figures(), figures);
    }
    const pqxx::result now = db.Exec(tx, sql::kNowMicros);
    SetTime(s.mutable_take_time(), now[0][0]);
    std::string body;
    if (!google::protobuf::util::MessageToJsonString(s, &body).ok()) throw std::runtime_error("snapshot to JSON");
    db.Exec(tx, sql::kInsertSnapshot, tenant, id, PeriodText(period.type), domain::FormatDate(period.first),
            domain::FormatDate(period.last), currency, MicrosText(s.take_time()), trigger, body);
    ev::ForecastSnapshotTaken event;
    *event.mutable_snapshot() = s;
    Emit(outbox, tx, tenant, request_id, "forecast_snapshot", id, 1, event, s.take_time());
    return s;
}

}  // namespace

v1::GetForecastResponse Get(common::Db& db, const RequestContext& rc, const v1::GetForecastRequest& req,
                            const domain::Period& period) {
    const domain::Forecast f = db.InTenant(rc, [&](pqxx::work& tx) {
        if (!req.pipeline_id().empty()) pipelines::Load(db, tx, rc.tenant_id, req.pipeline_id());
        return Compute(db, tx, rc.tenant_id, period, req.currency_code(), req.pipeline_id(), req.owner_id());
    });
    v1::GetForecastResponse out;
    FillPeriod(out.mutable_period(), period);
    out.set_currency_code(req.currency_code());
    FillFigures(out.mutable_totals(), f.totals);
    for (const auto& [owner, figures] : f.by_owner) {
        v1::ForecastLine* line = out.add_by_owner();
        line->set_owner_id(owner);
        FillFigures(line->mutable_figures(), figures);
    }
    return out;
}

v1::ForecastSnapshot TakeSnapshot(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                  const domain::Period& period, const std::string& currency,
                                  const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, rc.tenant_id, "TakeForecastSnapshot", request_id, id)) {
            const pqxx::result rows = db.Exec(tx, sql::kGetSnapshot, rc.tenant_id, *first);
            return ReadSnapshot(rows.at(0));
        }
        return InsertSnapshot(db, outbox, tx, rc.tenant_id, rc.request_id, id, period, currency, "manual");
    });
}

common::Page<v1::ForecastSnapshot> ListSnapshots(common::Db& db, const RequestContext& rc, const domain::Period& period,
                                                 const std::string& currency, int page_size,
                                                 const std::string& page_token) {
    const std::string scope =
        nlohmann::json{"ListForecastSnapshots", PeriodText(period.type), domain::FormatDate(period.first), currency}
            .dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::ForecastSnapshot> items = db.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::ForecastSnapshot> out;
        for (const auto& r :
             db.Exec(tx, sql::kListSnapshots, rc.tenant_id, PeriodText(period.type), domain::FormatDate(period.first),
                     currency, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadSnapshot(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::ForecastSnapshot& s) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(s.take_time()), s.id()});
    });
}

v1::GetForecastAccuracyResponse GetAccuracy(common::Db& db, const RequestContext& rc, const std::string& snapshot_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = db.Exec(tx, sql::kGetSnapshot, rc.tenant_id, snapshot_id);
        if (rows.empty()) throw ApiError::NotFound("forecast snapshot", snapshot_id);
        v1::GetForecastAccuracyResponse out;
        *out.mutable_snapshot() = ReadSnapshot(rows[0]);
        const v1::ForecastSnapshot& snapshot = out.snapshot();
        const auto first = domain::ParseDate(snapshot.period().start_date());
        const auto type = static_cast<domain::PeriodType>(snapshot.period().type());
        const domain::Period period = domain::PeriodContaining(type, first.value_or(0));
        const domain::Forecast now = Compute(db, tx, rc.tenant_id, period, snapshot.currency_code(), "", "");
        auto fill = [](v1::ForecastAccuracy* a, const std::string& owner, const domain::Accuracy& d) {
            a->set_owner_id(owner);
            a->set_forecast_amount(d.forecast);
            a->set_commit_amount(d.commit);
            a->set_actual_won_amount(d.actual_won);
            a->set_error_amount(d.error);
            a->set_accuracy_basis_points(d.basis_points);
        };
        fill(out.mutable_total(), "", domain::ComputeAccuracy(FiguresOf(snapshot.totals()), now.totals.closed_won));
        std::map<std::string, domain::Figures> owners;
        for (const auto& line : snapshot.by_owner()) owners[line.owner_id()] = FiguresOf(line.figures());
        for (const auto& [owner, figures] : now.by_owner) owners.try_emplace(owner);
        for (const auto& [owner, figures] : owners) {
            auto it = now.by_owner.find(owner);
            const std::int64_t won = it == now.by_owner.end() ? 0 : it->second.closed_won;
            fill(out.add_by_owner(), owner, domain::ComputeAccuracy(figures, won));
        }
        return out;
    });
}

// ==== the snapshot scheduler =========================================================================================

int TakeScheduledSnapshots(common::Db& db, common::Outbox& outbox, long interval_seconds) {
    const std::vector<std::string> tenants = db.InTenant(std::string(), [&](pqxx::work& tx) {
        db.Exec(tx, sql::kSnapshotsSchedulerOn);
        std::vector<std::string> out;
        for (const auto& r : db.Exec(tx, sql::kListSalesTenants)) out.push_back(r[0].as<std::string>());
        return out;
    });
    int taken = 0;
    for (const auto& tenant : tenants) {
        taken += db.InTenant(tenant, [&](pqxx::work& tx) {
            // One replica at a time per tenant; the others skip it this round.
            if (!db.Exec(tx, sql::kTryTenantLock, "sales.snapshots:" + tenant)[0][0].as<bool>()) return 0;
            const domain::Days today = db.Exec(tx, sql::kTodayDays)[0][0].as<long>();
            int n = 0;
            for (const auto type : {domain::PeriodType::kMonth, domain::PeriodType::kQuarter}) {
                const domain::Period period = domain::PeriodContaining(type, today);
                const std::string first = domain::FormatDate(period.first), last = domain::FormatDate(period.last);
                for (const auto& c : db.Exec(tx, sql::kPeriodCurrencies, tenant, first, last)) {
                    const std::string currency = c[0].as<std::string>();
                    const pqxx::result fresh = db.Exec(tx, sql::kRecentScheduledSnapshot, tenant, PeriodText(type),
                                                       first, currency, interval_seconds);
                    if (!fresh.empty()) continue;
                    InsertSnapshot(db, outbox, tx, tenant, "", common::NewUuid(), period, currency, "scheduled");
                    ++n;
                }
            }
            return n;
        });
    }
    return taken;
}

ScheduledSnapshots::ScheduledSnapshots(common::Db& db, common::Outbox& outbox, common::Metrics& metrics,
                                       long interval_seconds)
    : db_(db),
      outbox_(outbox),
      interval_seconds_(interval_seconds),
      taken_(prometheus::BuildCounter()
                 .Name("crm_sales_forecast_snapshots_total")
                 .Help("Forecast snapshots taken, by trigger.")
                 .Register(metrics.registry())
                 .Add({{"trigger", "scheduled"}})) {}

void ScheduledSnapshots::RunRound() {
    const int taken = TakeScheduledSnapshots(db_, outbox_, interval_seconds_);
    taken_.Increment(taken);
    if (taken > 0) common::log::Info("scheduled forecast snapshots taken", {{"count", std::to_string(taken)}});
}

}  // namespace crm::sales::forecast
