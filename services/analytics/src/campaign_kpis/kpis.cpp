#include <set>

#include "campaign_kpis/facts.hpp"

namespace crm::analytics::campaign {

std::int64_t DivideRounded(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    const std::int64_t r = a % b;
    // |r| * 2 >= b: round away from zero (r has a's sign).
    if (r >= 0 ? r >= b - r : -r >= b + r) return q + (a >= 0 ? 1 : -1);
    return q;
}

std::vector<CampaignKpis> ComputeCampaignKpis(const PeriodInputs& in, const std::string& only_campaign) {
    // (campaign, currency) -> model -> revenue
    std::map<std::pair<std::string, std::string>, std::map<std::string, std::int64_t>> revenue;
    for (const Attribution& a : in.won) {
        for (const Share& s : a.shares) {
            if (!only_campaign.empty() && s.campaign_id != only_campaign) continue;
            revenue[{s.campaign_id, a.currency}][s.model] += s.amount_minor;
        }
    }
    std::set<std::string> campaigns;
    std::map<std::string, std::set<std::string>> currencies;
    auto note = [&](const std::string& campaign, const std::string* currency) {
        if (!only_campaign.empty() && campaign != only_campaign) return;
        campaigns.insert(campaign);
        if (currency) currencies[campaign].insert(*currency);
    };
    for (const auto& [key, minor] : in.cost) note(key.first, &key.second);
    for (const auto& [key, models] : revenue) note(key.first, &key.second);
    for (const auto& [campaign, people] : in.leads) note(campaign, nullptr);

    std::vector<CampaignKpis> out;
    for (const std::string& id : campaigns) {
        CampaignKpis k;
        k.campaign_id = id;
        if (auto it = in.leads.find(id); it != in.leads.end()) k.leads = it->second;
        for (const std::string& currency : currencies[id]) {
            CurrencyKpis c;
            c.currency = currency;
            if (auto it = in.cost.find({id, currency}); it != in.cost.end()) c.cost_minor = it->second;
            c.cost_per_lead_minor = k.leads > 0 ? DivideRounded(c.cost_minor, k.leads) : 0;
            const auto rev = revenue.find({id, currency});
            for (const std::string& model : ModelNames()) {
                ModelKpis m;
                m.model = model;
                if (rev != revenue.end()) {
                    if (auto it = rev->second.find(model); it != rev->second.end()) m.revenue_minor = it->second;
                }
                m.net_minor = m.revenue_minor - c.cost_minor;
                m.roi_defined = c.cost_minor > 0;
                m.roi = m.roi_defined ? static_cast<double>(m.net_minor) / static_cast<double>(c.cost_minor) : 0.0;
                c.models.push_back(m);
            }
            k.currencies.push_back(std::move(c));
        }
        out.push_back(std::move(k));
    }
    return out;
}

}  // namespace crm::analytics::campaign
