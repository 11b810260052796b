// Attribution of won deals and campaign performance (see attribution.hpp).
#include "attribution/attribution.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/marketing/events/v1/events.pb.h>
#include <crm/sales/events/v1/events.pb.h>

#include <algorithm>
#include <map>

#include "attribution/sql.hpp"
#include "campaigns/campaigns.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "domain/attribution.hpp"
#include "records.hpp"

namespace crm::marketing::attribution {
namespace {

namespace ev = crm::marketing::events::v1;
namespace sev = crm::sales::events::v1;
namespace sv1 = crm::sales::v1;

template <class T>
T Unpack(const common::ConsumedEvent& e) {
    T payload;
    if (!e.envelope.payload().UnpackTo(&payload)) {
        throw common::PermanentEventError("payload of " + e.event_type() + " cannot be read");
    }
    return payload;
}

void Retract(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::ConsumedEvent& e,
             const std::string& opportunity_id) {
    if (!common::IsUuid(opportunity_id)) return;
    if (db.Exec(tx, sql::kDeleteDeal, e.tenant_id(), opportunity_id).empty()) return;  // nothing was attributed
    ev::AttributionComputed out;
    out.set_opportunity_id(opportunity_id);
    out.set_retracted(true);
    Emit(outbox, tx, e.tenant_id(), "", kAggregateType, opportunity_id, e.envelope.aggregate_version(), out);
}

void Compute(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::ConsumedEvent& e,
             const sev::OpportunityWon& won, int lookback_days) {
    const sv1::Opportunity& deal = won.opportunity();
    if (!common::IsUuid(deal.id())) throw common::PermanentEventError("OpportunityWon without a UUID opportunity id");
    const std::string& t = e.tenant_id();
    std::vector<std::string> named;
    for (const auto& id : {deal.contact_id(), deal.lead_id()}) {
        if (common::IsUuid(id)) named.push_back(id);
    }
    std::vector<std::string> people = named;
    if (!named.empty()) {
        for (const auto& r : db.Exec(tx, sql::kDealPeople, t, PgArray(named))) people.push_back(r[0].as<std::string>());
    }
    const std::int64_t close = won.has_close_time() ? Micros(won.close_time()) : Micros(e.envelope.occurred_at());
    std::vector<domain::AttributionTouch> touches;
    if (!people.empty()) {
        for (const auto& r : db.Exec(tx, sql::kTouches, t, PgArray(people), close, lookback_days)) {
            touches.push_back({r[0].as<std::string>(), r[1].as<std::int64_t>()});
        }
    }
    const crm::common::v1::Money& amount = won.has_amount() ? won.amount() : deal.amount();
    db.Exec(tx, sql::kDeleteDeal, t, deal.id());  // a win seen again (re-won after a reopen) replaces the old split
    ev::AttributionComputed out;
    out.set_opportunity_id(deal.id());
    *out.mutable_amount() = amount;
    SetMicros(out.mutable_close_time(), close);
    for (domain::AttributionModel model : domain::kAllModels) {
        for (const auto& [campaign, minor] : domain::Attribute(model, touches, amount.amount_minor(), close)) {
            db.Exec(tx, sql::kInsert, t, deal.id(), domain::ModelName(model), campaign, amount.currency_code(), minor,
                    close);
            auto* share = out.add_shares();
            share->set_model(domain::ModelName(model));
            share->set_campaign_id(campaign);
            share->set_amount_minor(minor);
        }
    }
    Emit(outbox, tx, t, "", kAggregateType, deal.id(), e.envelope.aggregate_version(), out);
}

// The deal as the snapshot shows it (its state from the event when the event decides it): what the influenced
// pipeline reads.
void Track(common::Db& db, pqxx::transaction_base& tx, const common::ConsumedEvent& e, const sv1::Opportunity& deal,
           const char* state = nullptr) {
    if (!common::IsUuid(deal.id())) throw common::PermanentEventError(e.event_type() + " without an opportunity id");
    if (state == nullptr) {
        state = deal.status() == sv1::OPPORTUNITY_STATUS_WON    ? "won"
                : deal.status() == sv1::OPPORTUNITY_STATUS_LOST ? "lost"
                                                                : "open";
    }
    const auto id_or_null = [](const std::string& id) -> const char* {
        return common::IsUuid(id) ? id.c_str() : nullptr;
    };
    db.Exec(tx, sql::kUpsertOpportunity, e.tenant_id(), deal.id(), id_or_null(deal.contact_id()),
            id_or_null(deal.lead_id()), deal.has_amount() ? deal.amount().amount_minor() : 0,
            deal.has_amount() ? deal.amount().currency_code() : "", state, deal.version());
}

}  // namespace

void Apply(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::ConsumedEvent& e,
           int lookback_days) {
    const std::string& type = e.event_type();
    const std::string sales = "crm.sales.events.v1.";
    if (type == sales + "OpportunityCreated") {
        Track(db, tx, e, Unpack<sev::OpportunityCreated>(e).opportunity());
    } else if (type == sales + "OpportunityUpdated") {
        Track(db, tx, e, Unpack<sev::OpportunityUpdated>(e).opportunity());
    } else if (type == sales + "OpportunityWon") {
        const auto won = Unpack<sev::OpportunityWon>(e);
        Track(db, tx, e, won.opportunity(), "won");
        Compute(db, outbox, tx, e, won, lookback_days);
    } else if (type == sales + "OpportunityLost") {
        const auto lost = Unpack<sev::OpportunityLost>(e);
        Track(db, tx, e, lost.opportunity(), "lost");
        Retract(db, outbox, tx, e, lost.opportunity().id());
    } else if (type == sales + "OpportunityDeleted") {
        const auto deleted = Unpack<sev::OpportunityDeleted>(e);
        Track(db, tx, e, deleted.opportunity(), "deleted");
        Retract(db, outbox, tx, e, deleted.opportunity().id());
    } else if (type == sales + "OpportunityStageChanged") {
        const auto moved = Unpack<sev::OpportunityStageChanged>(e);
        if (moved.has_opportunity()) Track(db, tx, e, moved.opportunity());
        if (moved.from_forecast_category() == sv1::FORECAST_CATEGORY_CLOSED_WON &&
            moved.to_forecast_category() != sv1::FORECAST_CATEGORY_CLOSED_WON) {
            Retract(db, outbox, tx, e, moved.opportunity_id());  // reopened
        }
    }
}

v1::GetCampaignPerformanceResponse Performance::Get(const common::RequestContext& rc, const std::string& campaign_id,
                                                    std::int64_t start, std::int64_t end) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        if (!campaigns::FindCampaign(db_, tx, t, campaign_id)) {
            throw common::ApiError::NotFound("campaign", campaign_id);
        }
        v1::GetCampaignPerformanceResponse out;
        out.set_campaign_id(campaign_id);
        const pqxx::result email = db_.Exec(tx, sql::kEmailCounts, t, campaign_id, start, end);
        out.set_sent(email[0][0].as<std::int64_t>());
        out.set_delivered(out.sent());
        out.set_bounced(email[0][1].as<std::int64_t>());
        for (const auto& r : db_.Exec(tx, sql::kEngagementCounts, t, campaign_id, start, end)) {
            const std::string kind = r[0].as<std::string>();
            if (kind == "email_clicked") out.set_email_clicks(r[1].as<std::int64_t>());
            if (kind == "link_clicked") out.set_link_clicks(r[1].as<std::int64_t>());
            if (kind == "unsubscribed") out.set_unsubscribed(r[1].as<std::int64_t>());
            if (kind == "email_opened") out.set_opened(r[1].as<std::int64_t>());
        }
        const pqxx::result leads = db_.Exec(tx, sql::kLeadCounts, t, campaign_id, start, end);
        out.set_leads(leads[0][0].as<std::int64_t>());
        out.set_converted_leads(leads[0][1].as<std::int64_t>());
        std::map<std::string, std::int64_t> cost;
        for (const auto& r : db_.Exec(tx, sql::kCost, t, campaign_id, start, end)) {
            cost[r[0].as<std::string>()] = r[1].as<std::int64_t>();
            SetMoney(out.add_cost(), r[1].as<std::int64_t>(), r[0].as<std::string>());
        }
        for (const auto& r : db_.Exec(tx, sql::kRevenue, t, campaign_id, start, end)) {
            auto* m = out.add_won_revenue();
            m->set_model(r[0].as<std::string>());
            SetMoney(m->mutable_revenue(), r[2].as<std::int64_t>(), r[1].as<std::string>());
            m->set_deals(r[3].as<std::int64_t>());
            auto c = cost.find(m->revenue().currency_code());
            if (c != cost.end() && c->second > 0) {
                m->set_has_roi(true);
                m->set_roi(static_cast<double>(m->revenue().amount_minor() - c->second) /
                           static_cast<double>(c->second));
            }
        }
        // The influenced pipeline, as of the period's end or now, whichever is earlier.
        const std::int64_t as_of = std::min(end, NowMicros());
        for (const auto& r : db_.Exec(tx, sql::kInfluenced, t, campaign_id, as_of, lookback_days_)) {
            SetMoney(out.add_influenced_pipeline(), r[1].as<std::int64_t>(), r[0].as<std::string>());
            out.set_influenced_opportunities(out.influenced_opportunities() + r[2].as<std::int64_t>());
        }
        return out;
    });
}

}  // namespace crm::marketing::attribution
