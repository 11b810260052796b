#pragma once
// The campaign read model's facts (from marketing's events, topic crm.marketing.v1) and the KPI math over them. Pure:
// no I/O, no protobuf; shared by the projector, the store and the handler.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crm::analytics::campaign {

using Micros = std::int64_t;

// A cost line (CampaignCostAdded): its incur date as days since 1970-01-01 (UTC calendar date).
struct CostLine {
    std::string cost_id;
    std::string event_id;
    std::string campaign_id;
    std::string currency;
    std::int64_t amount_minor = 0;
    std::int64_t incur_day = 0;
};

// A recorded touch (TouchRecorded); person_id empty for an anonymous visitor.
struct Touch {
    std::string touch_id;
    std::string campaign_id;
    std::string person_id;
    std::string type;
    Micros touch_time = 0;
};

struct Share {
    std::string model;
    std::string campaign_id;
    std::int64_t amount_minor = 0;
};

// One AttributionComputed: a won deal's split (or its retraction), keyed by the deal, the sales version it answers
// and the event id. The latest (version, occurred_at, event_id) of a deal is in force.
struct Attribution {
    std::string opportunity_id;
    std::int64_t version = 0;
    std::string event_id;
    Micros occurred_at = 0;
    bool retracted = false;
    std::optional<Micros> close_time;
    std::string currency;
    std::int64_t amount_minor = 0;
    std::vector<Share> shares;
};

struct CampaignFacts {
    std::vector<CostLine> costs;
    std::vector<Touch> touches;
    std::vector<Attribution> attributions;
    bool empty() const { return costs.empty() && touches.empty() && attributions.empty(); }
};

// The five models of marketing's attribution, in the order answered (by name).
inline const std::vector<std::string>& ModelNames() {
    static const std::vector<std::string> names{"first_touch", "last_touch", "linear", "time_decay", "u_shaped"};
    return names;
}

// Touch types that make a lead of the campaign (opens and unsubscribes do not).
inline bool CountsAsLeadTouch(const std::string& type) {
    return type == "link_clicked" || type == "email_clicked" || type == "form_submitted";
}

// What a KPI read over a period has loaded: cost per (campaign, currency), distinct people touched per campaign, and
// the splits in force of the deals closed in the period.
struct PeriodInputs {
    std::map<std::pair<std::string, std::string>, std::int64_t> cost;  // (campaign, currency) -> minor units
    std::map<std::string, std::int64_t> leads;                         // campaign -> people
    std::vector<Attribution> won;                                      // in force, not retracted, closed in the period
};

struct ModelKpis {
    std::string model;
    std::int64_t revenue_minor = 0;
    std::int64_t net_minor = 0;
    bool roi_defined = false;
    double roi = 0;
};

struct CurrencyKpis {
    std::string currency;
    std::int64_t cost_minor = 0;
    std::int64_t cost_per_lead_minor = 0;
    std::vector<ModelKpis> models;  // ModelNames() order
};

struct CampaignKpis {
    std::string campaign_id;
    std::int64_t leads = 0;
    std::vector<CurrencyKpis> currencies;  // by currency code
};

// Per campaign (sorted by id; only `only_campaign` when not empty): cost, leads, cost per lead (rounded half away from
// zero), revenue per model from the shares, net and ROI per model and currency. Exact integer sums; currencies never
// mixed.
std::vector<CampaignKpis> ComputeCampaignKpis(const PeriodInputs& in, const std::string& only_campaign);

// a / b rounded half away from zero (b > 0).
std::int64_t DivideRounded(std::int64_t a, std::int64_t b);

}  // namespace crm::analytics::campaign
