// Opportunities and their stage history (see opportunities.hpp).
#include "opportunities/opportunities.hpp"

#include <crm/sales/events/v1/events.pb.h>

#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/sealed_columns.hpp"
#include "opportunities/sql.hpp"
#include "pipelines/pipelines.hpp"
#include "records.hpp"
#include "sealed.hpp"

namespace crm::sales::opportunities {
namespace {

namespace ev = crm::sales::events::v1;
using common::ApiError;

// The row's wrapped data key: the last of CRM_OPPORTUNITY_COLUMNS.
constexpr int kOpportunityKeyField = 25;

// A row of CRM_OPPORTUNITY_COLUMNS (opportunities/sql.hpp), its description opened with the deal's key.
v1::Opportunity ReadOpportunity(const pqxx::row& r, const std::string& tenant) {
    v1::Opportunity o;
    o.set_id(r[0].as<std::string>());
    o.set_name(r[1].as<std::string>());
    o.set_pipeline_id(r[2].as<std::string>());
    o.set_stage_id(r[3].as<std::string>());
    o.set_stage_name(r[4].as<std::string>());
    o.set_probability(r[5].as<int>());
    o.set_forecast_category(static_cast<v1::ForecastCategory>(domain::ParseCategory(r[6].as<std::string>())));
    SetMoney(o.mutable_amount(), r[7].as<std::int64_t>(), r[8].as<std::string>());
    o.set_expected_close_date(r[9].as<std::string>());
    o.set_owner_id(r[10].as<std::string>());
    o.set_contact_id(r[11].as<std::string>());
    o.set_company_id(r[12].as<std::string>());
    o.set_source_campaign_id(r[13].as<std::string>());
    o.set_lead_id(r[14].as<std::string>());
    o.set_description(common::ColumnKey(tenant, o.id(), r[kOpportunityKeyField])
                          .Open(sealed::kOpportunityDescription, r[15].c_str()));
    o.set_status(static_cast<v1::OpportunityStatus>(domain::ParseStatus(r[16].as<std::string>())));
    o.set_lost_reason(r[17].as<std::string>());
    SetTime(o.mutable_stage_enter_time(), r[18]);
    SetTime(o.mutable_create_time(), r[19]);
    SetTime(o.mutable_update_time(), r[20]);
    SetTimeIf(&o, &v1::Opportunity::mutable_close_time, r[21]);
    SetTimeIf(&o, &v1::Opportunity::mutable_delete_time, r[22]);
    o.set_version(r[23].as<std::int64_t>());
    o.set_etag(common::MakeEtag(o.version()));
    o.set_accepted_quote_id(r[24].as<std::string>());
    return o;
}

domain::DealState StateOf(const v1::Opportunity& o) {
    return {static_cast<domain::DealStatus>(o.status()), o.has_delete_time(), !o.expected_close_date().empty()};
}

void ThrowRule(const std::optional<domain::RuleBreak>& rule) {
    if (rule) throw ApiError::FailedPrecondition(rule->message, rule->reason);
}

// Writes every mutable column of `o` (optimistic on version); the caller reloads.
void Write(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Opportunity& o,
           std::int64_t expected_version) {
    const pqxx::result rows =
        db.Exec(tx, sql::kWriteOpportunity, tenant, o.id(), o.name(), o.probability(), o.amount().amount_minor(),
                common::NullIfEmpty(o.expected_close_date()), o.owner_id(), common::NullIfEmpty(o.contact_id()),
                common::NullIfEmpty(o.company_id()), o.source_campaign_id(), common::NullIfEmpty(o.lead_id()),
                common::ColumnSealer(db, tx, tenant).Seal(o.id(), sealed::kOpportunityDescription, o.description()),
                expected_version, 1, common::NullIfEmpty(o.accepted_quote_id()));
    if (rows.empty()) throw ApiError::Aborted("the opportunity changed concurrently; read it again and retry");
}

std::vector<std::string> ChangedPaths(const v1::Opportunity& a, const v1::Opportunity& b) {
    std::vector<std::string> out;
    if (a.name() != b.name()) out.push_back("name");
    if (a.amount().amount_minor() != b.amount().amount_minor()) out.push_back("amount");
    if (a.probability() != b.probability()) out.push_back("probability");
    if (a.expected_close_date() != b.expected_close_date()) out.push_back("expected_close_date");
    if (a.owner_id() != b.owner_id()) out.push_back("owner_id");
    if (a.contact_id() != b.contact_id()) out.push_back("contact_id");
    if (a.company_id() != b.company_id()) out.push_back("company_id");
    if (a.source_campaign_id() != b.source_campaign_id()) out.push_back("source_campaign_id");
    if (a.lead_id() != b.lead_id()) out.push_back("lead_id");
    if (a.description() != b.description()) out.push_back("description");
    if (a.accepted_quote_id() != b.accepted_quote_id()) out.push_back("accepted_quote_id");
    return out;
}

// Writes `next` over `current` and OpportunityUpdated with the changed paths; returns the stored deal.
v1::Opportunity WriteUpdate(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                            const RequestContext& rc, const v1::Opportunity& current, const v1::Opportunity& next) {
    const std::vector<std::string> changed = ChangedPaths(current, next);
    Write(db, tx, rc.tenant_id, next, current.version());
    v1::Opportunity updated = Load(db, tx, rc.tenant_id, current.id());
    ev::OpportunityUpdated event;
    *event.mutable_opportunity() = updated;
    for (const auto& p : changed) event.add_changed_paths(p);
    *event.mutable_previous_amount() = current.amount();
    Emit(outbox, tx, rc, "opportunity", updated.id(), updated.version(), event, updated.update_time());
    return updated;
}

// Moves `current` into `target` (history rows, stage columns), emits OpportunityStageChanged at version+1 and
// returns the stored opportunity. `status` and `reason` close it when not OPEN.
v1::Opportunity ChangeStage(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                            const RequestContext& rc, const v1::Opportunity& current, const v1::Stage& target,
                            int probability, domain::DealStatus status, const std::string& reason,
                            std::optional<std::int64_t> final_amount, int version_step) {
    const std::string& t = rc.tenant_id;
    const pqxx::result rows =
        db.Exec(tx, sql::kMoveOpportunity, t, current.id(), target.id(), probability, domain::StatusText(status),
                reason, final_amount.value_or(current.amount().amount_minor()), current.version(), version_step);
    if (rows.empty()) throw ApiError::Aborted("the opportunity changed concurrently; read it again and retry");
    db.Exec(tx, sql::kCloseHistory, t, current.id());
    db.Exec(tx, sql::kInsertHistory, t, current.id(), target.id(), target.name(),
            domain::CategoryText(pipelines::CategoryOf(target)), probability, rc.user_id);
    v1::Opportunity moved = Load(db, tx, t, current.id());
    ev::OpportunityStageChanged event;
    event.set_opportunity_id(current.id());
    event.set_pipeline_id(current.pipeline_id());
    event.set_from_stage_id(current.stage_id());
    event.set_from_stage_name(current.stage_name());
    event.set_from_forecast_category(current.forecast_category());
    event.set_from_probability(current.probability());
    event.set_to_stage_id(moved.stage_id());
    event.set_to_stage_name(moved.stage_name());
    event.set_to_forecast_category(moved.forecast_category());
    event.set_to_probability(moved.probability());
    *event.mutable_amount() = moved.amount();
    *event.mutable_from_stage_enter_time() = current.stage_enter_time();
    event.set_time_in_from_stage_seconds((Micros(moved.stage_enter_time()) - Micros(current.stage_enter_time())) /
                                         1000000);
    *event.mutable_opportunity() = moved;
    event.set_changed_by(rc.user_id);
    Emit(outbox, tx, rc, "opportunity", current.id(), current.version() + 1, event, moved.stage_enter_time());
    return moved;
}

// Closes an open deal into the pipeline's closed-won or closed-lost stage. Two events, two versions:
// OpportunityStageChanged (version + 1) then OpportunityWon/Lost (version + 2).
v1::Opportunity Close(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const std::string& id, bool won,
                      const std::string& reason, std::optional<std::int64_t> final_amount,
                      const std::string& final_currency, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Opportunity current = Load(db, tx, rc.tenant_id, id, true);
        common::CheckEtag(etag, current.version());
        RequireOpen(current);
        if (final_amount && !final_currency.empty() && final_currency != current.amount().currency_code()) {
            throw ApiError::InvalidArgument("amount.currency_code",
                                            "must be the opportunity's currency " + current.amount().currency_code());
        }
        const v1::Stage target =
            pipelines::StageByCategory(db, tx, rc.tenant_id, current.pipeline_id(),
                                       won ? domain::Category::kClosedWon : domain::Category::kClosedLost);
        const v1::Opportunity closed =
            ChangeStage(db, outbox, tx, rc, current, target, won ? 100 : 0,
                        won ? domain::DealStatus::kWon : domain::DealStatus::kLost, won ? "" : reason, final_amount, 2);
        const std::int64_t cycle = (Micros(closed.close_time()) - Micros(closed.create_time())) / 1000000;
        if (won) {
            ev::OpportunityWon event;
            *event.mutable_opportunity() = closed;
            *event.mutable_amount() = closed.amount();
            *event.mutable_close_time() = closed.close_time();
            event.set_sales_cycle_seconds(cycle);
            Emit(outbox, tx, rc, "opportunity", id, closed.version(), event, closed.close_time());
        } else {
            ev::OpportunityLost event;
            *event.mutable_opportunity() = closed;
            event.set_reason(reason);
            *event.mutable_amount() = closed.amount();
            *event.mutable_close_time() = closed.close_time();
            event.set_sales_cycle_seconds(cycle);
            Emit(outbox, tx, rc, "opportunity", id, closed.version(), event, closed.close_time());
        }
        return closed;
    });
}

}  // namespace

// ==== for other areas ================================================================================================

std::optional<v1::Opportunity> Find(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetOpportunity, tenant, id);
    if (rows.empty()) return std::nullopt;
    return ReadOpportunity(rows[0], tenant);
}

v1::Opportunity Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                     bool for_update) {
    const pqxx::result rows =
        db.Exec(tx, for_update ? sql::kGetOpportunityForUpdate : sql::kGetOpportunity, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("opportunity", id);
    return ReadOpportunity(rows[0], tenant);
}

void RequireOpen(const v1::Opportunity& deal) { ThrowRule(domain::CheckOpen(StateOf(deal))); }

std::map<std::string, long> OpenPerStage(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                         const std::string& pipeline_id, const std::vector<std::string>& stage_ids) {
    std::map<std::string, long> open;
    for (const auto& row : db.Exec(tx, sql::kOpenPerStage, tenant, pipeline_id, UuidArray(stage_ids))) {
        open[row[0].as<std::string>()] = row[1].as<long>();
    }
    return open;
}

int MoveOpenOpportunities(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                          const std::string& pipeline_id, const std::string& from_stage_id, const v1::Stage& target) {
    int moved = 0;
    for (const auto& row : db.Exec(tx, sql::kOpenInStage, rc.tenant_id, pipeline_id, from_stage_id)) {
        const v1::Opportunity deal = Load(db, tx, rc.tenant_id, row[0].as<std::string>());
        if (domain::CheckCommitDate(pipelines::CategoryOf(target), !deal.expected_close_date().empty())) {
            throw ApiError::FailedPrecondition("the open opportunity " + deal.id() +
                                                   " of the removed stage has no expected close date, which the "
                                                   "commit stage " +
                                                   target.name() + " needs; set one or pick another target",
                                               "CLOSE_DATE_REQUIRED");
        }
        ChangeStage(db, outbox, tx, rc, deal, target, target.probability(), domain::DealStatus::kOpen, "", std::nullopt,
                    1);
        ++moved;
    }
    return moved;
}

v1::Opportunity SetAmountFromQuote(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                   const RequestContext& rc, const v1::Opportunity& deal, const v1::Quote& quote) {
    v1::Opportunity next = deal;
    next.mutable_amount()->set_amount_minor(quote.total().amount_minor());
    next.set_accepted_quote_id(quote.id());
    return WriteUpdate(db, outbox, tx, rc, deal, next);
}

// ==== use cases ======================================================================================================

v1::Opportunity Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Opportunity& in,
                       const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, t, "CreateOpportunity", request_id, id)) {
            return Load(db, tx, t, *first);
        }
        std::string pipeline_id = in.pipeline_id();
        // Stages stay as read until commit: the pipeline is share-locked before they are read.
        if (pipeline_id.empty()) {
            if (auto locked = pipelines::LockDefaultShared(db, tx, t)) {
                pipeline_id = *locked;
            } else {  // the tenant's first use
                pipeline_id = pipelines::EnsureDefault(db, outbox, tx, rc).id();
                pipelines::LockShared(db, tx, t, pipeline_id);
            }
        } else {
            pipelines::EnsureTenant(db, tx, t);
            if (!pipelines::Exists(db, tx, t, pipeline_id)) {
                throw ApiError::InvalidArgument("opportunity.pipeline_id", "no pipeline with this id");
            }
            pipelines::LockShared(db, tx, t, pipeline_id);
        }
        v1::Stage stage;
        if (in.stage_id().empty()) {
            stage = pipelines::FirstStage(db, tx, t, pipeline_id);
        } else {
            auto found = pipelines::FindStage(db, tx, t, pipeline_id, in.stage_id());
            if (!found) {
                throw ApiError::InvalidArgument("opportunity.stage_id", "not a stage of the opportunity's pipeline");
            }
            if (found->has_archive_time()) {
                throw ApiError::InvalidArgument("opportunity.stage_id", "the stage was removed from the pipeline");
            }
            if (!domain::IsOpen(pipelines::CategoryOf(*found))) {
                throw ApiError::InvalidArgument("opportunity.stage_id",
                                                "an opportunity starts in an open stage; close it with "
                                                "WinOpportunity or LoseOpportunity");
            }
            stage = *found;
        }
        ThrowRule(domain::CheckCommitDate(pipelines::CategoryOf(stage), !in.expected_close_date().empty()));
        const int probability = in.probability() > 0 ? in.probability() : stage.probability();
        const std::string owner = in.owner_id().empty() ? rc.user_id : in.owner_id();
        const pqxx::result rows =
            db.Exec(tx, sql::kInsertOpportunity, t, id, in.name(), pipeline_id, stage.id(), probability,
                    in.amount().amount_minor(), in.amount().currency_code(),
                    common::NullIfEmpty(in.expected_close_date()), owner, common::NullIfEmpty(in.contact_id()),
                    common::NullIfEmpty(in.company_id()), in.source_campaign_id(), common::NullIfEmpty(in.lead_id()),
                    common::ColumnSealer(db, tx, t).Seal(id, sealed::kOpportunityDescription, in.description()),
                    stage.name(), domain::CategoryText(pipelines::CategoryOf(stage)), rc.user_id);
        v1::Opportunity created = ReadOpportunity(rows.at(0), t);
        ev::OpportunityCreated event;
        *event.mutable_opportunity() = created;
        Emit(outbox, tx, rc, "opportunity", id, created.version(), event, created.create_time());
        return created;
    });
}

std::optional<v1::Opportunity> FindCreated(common::Db& db, const RequestContext& rc, const std::string& request_id) {
    if (request_id.empty()) return std::nullopt;
    return db.InTenant(rc, [&](pqxx::work& tx) -> std::optional<v1::Opportunity> {
        const pqxx::result rows = db.Exec(tx, sql::kCreatedByRequest, rc.tenant_id, request_id);
        if (rows.empty()) return std::nullopt;
        return Load(db, tx, rc.tenant_id, rows[0][0].as<std::string>());
    });
}

v1::Opportunity Get(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return Load(db, tx, rc.tenant_id, id); });
}

common::Page<v1::Opportunity> List(common::Db& db, const RequestContext& rc, const v1::ListOpportunitiesRequest& q,
                                   int page_size) {
    const bool by_close = q.order_by() == v1::OPPORTUNITY_ORDER_EXPECTED_CLOSE_DATE;
    const std::string status = q.status() == v1::OPPORTUNITY_STATUS_UNSPECIFIED
                                   ? std::string()
                                   : std::string(domain::StatusText(static_cast<domain::DealStatus>(q.status())));
    const std::string scope =
        nlohmann::json{"ListOpportunities", q.pipeline_id(),   q.stage_id(),   q.owner_id(),   status,
                       q.close_date_from(), q.close_date_to(), q.contact_id(), q.company_id(), by_close,
                       q.show_deleted()}
            .dump();
    // By close date the keyset is (date, id), from 0001-01-01; otherwise (create time, id).
    std::vector<std::string> after = {"0001-01-01", "00000000-0000-0000-0000-000000000000"};
    if (!by_close) {
        const common::TimeIdKey key =
            common::DecodeTimeIdToken(q.page_token(), rc.tenant_id, scope, common::SortOrder::kAscending);
        after = {std::to_string(key.micros), key.id};
    } else if (!q.page_token().empty()) {
        after = common::DecodePageToken(q.page_token(), rc.tenant_id, scope, 2);
    }
    std::vector<v1::Opportunity> items = db.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = db.Exec(
            tx, by_close ? sql::kListOpportunitiesByClose : sql::kListOpportunities, rc.tenant_id,
            common::NullIfEmpty(q.pipeline_id()), common::NullIfEmpty(q.stage_id()), common::NullIfEmpty(q.owner_id()),
            common::NullIfEmpty(status), common::NullIfEmpty(q.close_date_from()),
            common::NullIfEmpty(q.close_date_to()), q.show_deleted(), common::NullIfEmpty(q.contact_id()),
            common::NullIfEmpty(q.company_id()), after[0], after[1], page_size + 1);
        std::vector<v1::Opportunity> out;
        for (const auto& r : rows) out.push_back(ReadOpportunity(r, rc.tenant_id));
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Opportunity& o) {
        return by_close ? common::EncodePageToken(rc.tenant_id, scope, {o.expected_close_date(), o.id()})
                        : common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(o.create_time()), o.id()});
    });
}

v1::Opportunity Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Opportunity& in,
                       const std::vector<std::string>& paths, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Opportunity current = Load(db, tx, rc.tenant_id, in.id(), true);
        common::CheckEtag(etag, current.version());
        RequireOpen(current);
        v1::Opportunity next = current;
        for (const auto& p : paths) {
            if (p == "name") next.set_name(in.name());
            if (p == "amount") {
                if (!in.amount().currency_code().empty() &&
                    in.amount().currency_code() != current.amount().currency_code()) {
                    throw ApiError::InvalidArgument(
                        "opportunity.amount.currency_code",
                        "the currency cannot change (it is " + current.amount().currency_code() + ")");
                }
                next.mutable_amount()->set_amount_minor(in.amount().amount_minor());
            }
            if (p == "probability") next.set_probability(in.probability());
            if (p == "expected_close_date") next.set_expected_close_date(in.expected_close_date());
            if (p == "owner_id") next.set_owner_id(in.owner_id());
            if (p == "contact_id") next.set_contact_id(in.contact_id());
            if (p == "company_id") next.set_company_id(in.company_id());
            if (p == "source_campaign_id") next.set_source_campaign_id(in.source_campaign_id());
            if (p == "lead_id") next.set_lead_id(in.lead_id());
            if (p == "description") next.set_description(in.description());
        }
        ThrowRule(domain::CheckCommitDate(static_cast<domain::Category>(current.forecast_category()),
                                          !next.expected_close_date().empty()));
        if (ChangedPaths(current, next).empty()) return current;
        return WriteUpdate(db, outbox, tx, rc, current, next);
    });
}

v1::Opportunity MoveStage(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                          const v1::MoveOpportunityStageRequest& req) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        // Lock order pipeline -> opportunity, as UpdatePipeline: the target stage cannot be removed under this move.
        const std::string pipeline_id = Load(db, tx, t, req.id()).pipeline_id();
        pipelines::LockShared(db, tx, t, pipeline_id);
        const v1::Opportunity current = Load(db, tx, t, req.id(), true);
        common::CheckEtag(req.etag(), current.version());
        const auto target = pipelines::FindStage(db, tx, t, current.pipeline_id(), req.stage_id());
        if (!target) throw ApiError::InvalidArgument("stage_id", "not a stage of the opportunity's pipeline");
        if (target->has_archive_time()) {
            throw ApiError::InvalidArgument("stage_id", "the stage was removed from the pipeline");
        }
        ThrowRule(domain::CheckMove(StateOf(current), pipelines::CategoryOf(*target)));
        if (target->id() == current.stage_id()) {
            throw ApiError::FailedPrecondition("the opportunity is already in this stage", "SAME_STAGE");
        }
        return ChangeStage(db, outbox, tx, rc, current, *target,
                           req.probability() > 0 ? req.probability() : target->probability(), domain::DealStatus::kOpen,
                           "", std::nullopt, 1);
    });
}

v1::Opportunity Win(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                    const v1::WinOpportunityRequest& req) {
    std::optional<std::int64_t> amount;
    if (req.has_amount()) amount = req.amount().amount_minor();
    return Close(db, outbox, rc, req.id(), true, "", amount, req.amount().currency_code(), req.etag());
}

v1::Opportunity Lose(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                     const v1::LoseOpportunityRequest& req) {
    return Close(db, outbox, rc, req.id(), false, req.reason(), std::nullopt, "", req.etag());
}

v1::Opportunity Delete(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const std::string& id,
                       const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Opportunity current = Load(db, tx, rc.tenant_id, id, true);
        common::CheckEtag(etag, current.version());
        if (current.has_delete_time()) return current;
        db.Exec(tx, sql::kDeleteOpportunity, rc.tenant_id, id);
        v1::Opportunity deleted = Load(db, tx, rc.tenant_id, id);
        ev::OpportunityDeleted event;
        *event.mutable_opportunity() = deleted;
        Emit(outbox, tx, rc, "opportunity", id, deleted.version(), event, deleted.delete_time());
        return deleted;
    });
}

std::vector<v1::StageHistoryEntry> ListStageHistory(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        Load(db, tx, rc.tenant_id, id);
        std::vector<v1::StageHistoryEntry> out;
        for (const auto& r : db.Exec(tx, sql::kListHistory, rc.tenant_id, id)) {
            v1::StageHistoryEntry e;
            e.set_stage_id(r[0].as<std::string>());
            e.set_stage_name(r[1].as<std::string>());
            e.set_forecast_category(static_cast<v1::ForecastCategory>(domain::ParseCategory(r[2].as<std::string>())));
            e.set_probability(r[3].as<int>());
            SetTime(e.mutable_enter_time(), r[4]);
            SetTimeIf(&e, &v1::StageHistoryEntry::mutable_exit_time, r[5]);
            e.set_duration_seconds(r[6].as<std::int64_t>());
            e.set_changed_by(r[7].as<std::string>());
            out.push_back(std::move(e));
        }
        return out;
    });
}

}  // namespace crm::sales::opportunities
