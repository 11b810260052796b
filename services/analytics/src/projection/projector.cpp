#include "projection/projector.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/contacts/events/v1/events.pb.h>
#include <crm/leads/events/v1/events.pb.h>
#include <crm/sales/events/v1/events.pb.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "crm/common/civil_date.hpp"
#include "domain/kpis.hpp"
#include "field_kpis/projector.hpp"
#include "projection/proto_time.hpp"
#include "support_kpis/projector.hpp"

namespace crm::analytics::projection {

namespace {

namespace ce = crm::contacts::events::v1;
namespace le = crm::leads::events::v1;
namespace se = crm::sales::events::v1;
using domain::Facts;
using domain::RecordKind;
using domain::RecordVersion;

constexpr char kContactsPrefix[] = "crm.contacts.events.v1.";
constexpr char kLeadsPrefix[] = "crm.leads.events.v1.";
constexpr char kSalesPrefix[] = "crm.sales.events.v1.";

RecordVersion Record(const common::v1::EventEnvelope& env, RecordKind kind, const std::string& raw_id) {
    const std::string id = UuidOrEmpty(raw_id);
    if (id.empty()) throw UninterpretableEvent(env.event_type() + " without a valid record id");
    if (env.aggregate_version() < 1) throw UninterpretableEvent(env.event_type() + " without an aggregate version");
    RecordVersion r;
    r.kind = kind;
    r.record_id = id;
    r.version = env.aggregate_version();
    r.event_id = env.event_id();
    r.occurred_at = OccurredAt(env);
    return r;
}

Facts ContactsFacts(const common::v1::EventEnvelope& env) {
    const std::string type = env.event_type().substr(sizeof(kContactsPrefix) - 1);
    Facts f;
    if (type == "ContactCreated") {
        const auto e = Unpack<ce::ContactCreated>(env);
        RecordVersion r = Record(env, RecordKind::kContact, e.contact().id());
        r.created_at = e.contact().has_create_time() ? ToMicros(e.contact().create_time()) : r.occurred_at;
        f.records.push_back(std::move(r));
    } else if (type == "ContactDeleted") {
        const auto e = Unpack<ce::ContactDeleted>(env);
        RecordVersion r = Record(env, RecordKind::kContact, e.contact().id());
        if (e.contact().has_create_time()) r.created_at = ToMicros(e.contact().create_time());
        r.deleted_at = e.contact().has_delete_time() ? ToMicros(e.contact().delete_time()) : r.occurred_at;
        f.records.push_back(std::move(r));
    } else if (type == "CompanyCreated") {
        const auto e = Unpack<ce::CompanyCreated>(env);
        RecordVersion r = Record(env, RecordKind::kCompany, e.company().id());
        r.created_at = e.company().has_create_time() ? ToMicros(e.company().create_time()) : r.occurred_at;
        f.records.push_back(std::move(r));
    } else if (type == "CompanyDeleted") {
        const auto e = Unpack<ce::CompanyDeleted>(env);
        RecordVersion r = Record(env, RecordKind::kCompany, e.company().id());
        if (e.company().has_create_time()) r.created_at = ToMicros(e.company().create_time());
        r.deleted_at = e.company().has_delete_time() ? ToMicros(e.company().delete_time()) : r.occurred_at;
        f.records.push_back(std::move(r));
    }
    // Updates, merges, consent changes, erasure and custom field definitions do not change the record KPIs: the
    // read models hold ids and times only (no personal data, so nothing to erase).
    return f;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::optional<domain::Micros> Time(const google::protobuf::Timestamp& t, bool present) {
    if (!present) return std::nullopt;
    return ToMicros(t);
}
#define CRM_TIME(msg, field) Time((msg).field(), (msg).has_##field())

void CheckVersion(const common::v1::EventEnvelope& env) {
    if (env.aggregate_version() < 1) throw UninterpretableEvent(env.event_type() + " without an aggregate version");
}

// ---- leads: every payload carries the lead snapshot after the change.

domain::LeadVersion FromLead(const common::v1::EventEnvelope& env, const crm::leads::v1::Lead& lead) {
    CheckVersion(env);
    domain::LeadVersion v;
    v.lead_id = UuidOrEmpty(lead.id());
    if (v.lead_id.empty()) throw UninterpretableEvent(env.event_type() + " without a valid lead id");
    v.version = env.aggregate_version();
    v.event_id = env.event_id();
    v.occurred_at = OccurredAt(env);
    v.source = lead.source();
    v.campaign_id = lead.campaign_id();
    v.owner_id = lead.owner_id();
    switch (lead.status()) {
        case crm::leads::v1::LEAD_STATUS_CONVERTED:
            v.status = domain::LeadStatus::kConverted;
            break;
        case crm::leads::v1::LEAD_STATUS_UNQUALIFIED:
            v.status = domain::LeadStatus::kDisqualified;
            break;
        case crm::leads::v1::LEAD_STATUS_UNSPECIFIED:
            break;  // not stated
        default:
            v.status = domain::LeadStatus::kOpen;
    }
    v.created_at = CRM_TIME(lead, create_time);
    v.first_response_at = CRM_TIME(lead, first_touch_time);
    v.response_due_at = CRM_TIME(lead, first_touch_deadline);
    if (lead.has_conversion()) v.converted_at = CRM_TIME(lead.conversion(), convert_time);
    return v;
}

Facts LeadsFacts(const common::v1::EventEnvelope& env) {
    const std::string type = env.event_type().substr(sizeof(kLeadsPrefix) - 1);
    Facts f;
    auto add = [&](const crm::leads::v1::Lead& lead) { f.leads.push_back(FromLead(env, lead)); };
    if (type == "LeadCreated") {
        add(Unpack<le::LeadCreated>(env).lead());
    } else if (type == "LeadUpdated") {
        add(Unpack<le::LeadUpdated>(env).lead());
    } else if (type == "LeadStatusChanged") {
        add(Unpack<le::LeadStatusChanged>(env).lead());
    } else if (type == "LeadAssigned") {
        add(Unpack<le::LeadAssigned>(env).lead());
    } else if (type == "LeadScored") {
        add(Unpack<le::LeadScored>(env).lead());
    } else if (type == "LeadSlaBreached") {
        add(Unpack<le::LeadSlaBreached>(env).lead());
    } else if (type == "LeadEngagementRecorded") {
        add(Unpack<le::LeadEngagementRecorded>(env).lead());
    } else if (type == "LeadConverted") {
        const auto e = Unpack<le::LeadConverted>(env);
        domain::LeadVersion v = FromLead(env, e.lead());
        v.status = domain::LeadStatus::kConverted;
        if (e.has_convert_time()) v.converted_at = ToMicros(e.convert_time());
        f.leads.push_back(std::move(v));
    }
    // ScoringModelTrained is not about one lead: nothing to project.
    return f;
}

// ---- sales: every opportunity payload carries the opportunity after the change.

// "YYYY-MM-DD" -> 00:00 UTC of that day; nullopt when empty or malformed.
std::optional<domain::Micros> DateMicros(const std::string& date) {
    const auto day = common::ParseIsoDate(date);
    if (!day) return std::nullopt;
    return domain::CivilDayStart(day->year, day->month, day->day);
}

domain::OpportunityVersion FromOpportunity(const common::v1::EventEnvelope& env, const crm::sales::v1::Opportunity& o) {
    CheckVersion(env);
    domain::OpportunityVersion v;
    v.opportunity_id = UuidOrEmpty(o.id());
    if (v.opportunity_id.empty()) throw UninterpretableEvent(env.event_type() + " without a valid opportunity id");
    v.version = env.aggregate_version();
    v.event_id = env.event_id();
    v.occurred_at = OccurredAt(env);
    v.pipeline_id = o.pipeline_id();
    v.stage_id = o.stage_id();
    v.stage_name = o.stage_name();
    if (o.probability() < 0 || o.probability() > 100) {
        throw UninterpretableEvent(env.event_type() + " with a probability outside 0..100");
    }
    v.probability_bp = o.probability() * 100;
    switch (o.status()) {
        case crm::sales::v1::OPPORTUNITY_STATUS_OPEN:
            v.status = domain::DealStatus::kOpen;
            break;
        case crm::sales::v1::OPPORTUNITY_STATUS_WON:
            v.status = domain::DealStatus::kWon;
            break;
        case crm::sales::v1::OPPORTUNITY_STATUS_LOST:
            v.status = domain::DealStatus::kLost;
            break;
        default:
            break;  // not stated
    }
    if (o.has_amount()) {
        const std::string& currency = o.amount().currency_code();
        const bool iso = currency.size() == 3 &&
                         std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
        if (!iso) throw UninterpretableEvent(env.event_type() + " with an amount without an ISO currency code");
        v.amount_minor = o.amount().amount_minor();
        v.currency_code = currency;
    }
    v.owner_id = o.owner_id();
    v.expected_close_at = DateMicros(o.expected_close_date());
    v.created_at = CRM_TIME(o, create_time);
    v.closed_at = CRM_TIME(o, close_time);
    v.deleted_at = CRM_TIME(o, delete_time);
    v.lead_id = o.lead_id();
    v.campaign_id = o.source_campaign_id();
    return v;
}

Facts SalesFacts(const common::v1::EventEnvelope& env) {
    const std::string type = env.event_type().substr(sizeof(kSalesPrefix) - 1);
    Facts f;
    auto add = [&](const crm::sales::v1::Opportunity& o) { f.opportunities.push_back(FromOpportunity(env, o)); };
    if (type == "OpportunityCreated") {
        add(Unpack<se::OpportunityCreated>(env).opportunity());
    } else if (type == "OpportunityUpdated") {
        add(Unpack<se::OpportunityUpdated>(env).opportunity());
    } else if (type == "OpportunityStageChanged") {
        add(Unpack<se::OpportunityStageChanged>(env).opportunity());
    } else if (type == "OpportunityWon") {
        const auto e = Unpack<se::OpportunityWon>(env);
        domain::OpportunityVersion v = FromOpportunity(env, e.opportunity());
        v.status = domain::DealStatus::kWon;
        if (e.has_close_time()) v.closed_at = ToMicros(e.close_time());
        f.opportunities.push_back(std::move(v));
    } else if (type == "OpportunityLost") {
        const auto e = Unpack<se::OpportunityLost>(env);
        domain::OpportunityVersion v = FromOpportunity(env, e.opportunity());
        v.status = domain::DealStatus::kLost;
        if (e.has_close_time()) v.closed_at = ToMicros(e.close_time());
        f.opportunities.push_back(std::move(v));
    } else if (type == "OpportunityDeleted") {
        const auto e = Unpack<se::OpportunityDeleted>(env);
        domain::OpportunityVersion v = FromOpportunity(env, e.opportunity());
        if (!v.deleted_at) v.deleted_at = v.occurred_at;
        f.opportunities.push_back(std::move(v));
    }
    // Pipelines, activities, products, quotes, forecast snapshots and settings feed no read model yet.
    return f;
}

}  // namespace

domain::Facts Project(const common::v1::EventEnvelope& envelope) {
    if (!envelope.has_occurred_at()) throw UninterpretableEvent("envelope without occurred_at");
    const std::string& type = envelope.event_type();
    if (StartsWith(type, kContactsPrefix)) return ContactsFacts(envelope);
    if (StartsWith(type, kLeadsPrefix)) return LeadsFacts(envelope);
    if (StartsWith(type, kSalesPrefix)) return SalesFacts(envelope);
    if (StartsWith(type, support::kEventPrefix)) {
        Facts f;
        f.support = support::Project(envelope);
        return f;
    }
    if (StartsWith(type, field::kEventPrefix)) {
        Facts f;
        f.field = field::Project(envelope);
        return f;
    }
    return {};
}

std::vector<std::string> DefaultTopics() {
    return {"crm.contacts.v1", "crm.leads.v1",        "crm.sales.v1",
            "crm.support.v1",  "crm.fieldservice.v1", "crm.marketing.v1"};
}

}  // namespace crm::analytics::projection
