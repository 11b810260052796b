#include "campaign_kpis/projector.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/marketing/events/v1/events.pb.h>

#include "crm/common/civil_date.hpp"
#include "projection/projector.hpp"
#include "projection/proto_time.hpp"

namespace crm::analytics::campaign {

namespace {

namespace mev = crm::marketing::events::v1;
using projection::OccurredAt;
using projection::ToMicros;
using projection::UninterpretableEvent;
using projection::Unpack;
using projection::UuidOrEmpty;

std::string RequiredUuid(const common::v1::EventEnvelope& env, const std::string& id, const char* what) {
    std::string out = UuidOrEmpty(id);
    if (out.empty()) throw UninterpretableEvent(env.event_type() + " without a valid " + what + " id");
    return out;
}

bool IsCurrency(const std::string& c) {
    if (c.size() != 3) return false;
    for (char ch : c) {
        if (ch < 'A' || ch > 'Z') return false;
    }
    return true;
}

CostLine Cost(const common::v1::EventEnvelope& env, const mev::CampaignCostAdded& e) {
    CostLine c;
    c.cost_id = RequiredUuid(env, e.cost().id(), "cost");
    c.event_id = RequiredUuid(env, env.event_id(), "event");
    c.campaign_id = RequiredUuid(env, e.campaign_id(), "campaign");
    c.currency = e.cost().amount().currency_code();
    c.amount_minor = e.cost().amount().amount_minor();
    if (!IsCurrency(c.currency)) throw UninterpretableEvent("CampaignCostAdded without a currency code");
    const auto date = common::ParseIsoDate(e.cost().incur_date());
    if (!date) throw UninterpretableEvent("CampaignCostAdded without a valid incur_date");
    c.incur_day = common::DaysFromCivil(*date);
    return c;
}

Touch TouchOf(const common::v1::EventEnvelope& env, const mev::TouchRecorded& e) {
    Touch t;
    t.touch_id = RequiredUuid(env, e.touch_id(), "touch");
    t.campaign_id = RequiredUuid(env, e.campaign_id(), "campaign");
    t.person_id = UuidOrEmpty(e.person_id());
    t.type = e.type();
    if (t.type.empty() || t.type.size() > 100) throw UninterpretableEvent("TouchRecorded without a type");
    t.touch_time = e.has_touch_time() ? ToMicros(e.touch_time()) : OccurredAt(env);
    return t;
}

Attribution AttributionOf(const common::v1::EventEnvelope& env, const mev::AttributionComputed& e) {
    Attribution a;
    a.opportunity_id = RequiredUuid(env, e.opportunity_id(), "opportunity");
    a.version = env.aggregate_version();
    a.event_id = RequiredUuid(env, env.event_id(), "event");
    a.occurred_at = OccurredAt(env);
    a.retracted = e.retracted();
    if (a.retracted) return a;
    if (!e.has_close_time()) throw UninterpretableEvent("AttributionComputed without a close time");
    a.close_time = ToMicros(e.close_time());
    a.currency = e.amount().currency_code();
    a.amount_minor = e.amount().amount_minor();
    if (!IsCurrency(a.currency)) throw UninterpretableEvent("AttributionComputed without a currency code");
    for (const auto& s : e.shares()) {
        a.shares.push_back({s.model(), RequiredUuid(env, s.campaign_id(), "campaign"), s.amount_minor()});
    }
    return a;
}

}  // namespace

CampaignFacts Project(const common::v1::EventEnvelope& env) {
    CampaignFacts f;
    if (env.event_type().rfind(kEventPrefix, 0) != 0) return f;
    const std::string type = env.event_type().substr(sizeof(kEventPrefix) - 1);
    if (type == "CampaignCostAdded") {
        f.costs.push_back(Cost(env, Unpack<mev::CampaignCostAdded>(env)));
    } else if (type == "TouchRecorded") {
        f.touches.push_back(TouchOf(env, Unpack<mev::TouchRecorded>(env)));
    } else if (type == "AttributionComputed") {
        f.attributions.push_back(AttributionOf(env, Unpack<mev::AttributionComputed>(env)));
    }
    // Campaign snapshots, email and segment events and sequences feed no campaign KPI.
    return f;
}

}  // namespace crm::analytics::campaign
