#pragma once
// Random histories of one tenant for the equivalence tests (incremental_test.cpp, kpi_index_test.cpp): versions with
// random times (so out of order with their numbers), duplicated events, two events of one version, reopened, lost
// and deleted deals, deals attributed to leads that change or never arrive, renamed stages.
#include <random>
#include <set>
#include <string>

#include "domain/kpis.hpp"

namespace crm::analytics::domain::testing {

constexpr Micros kHour = 3600 * kMicrosPerSecond;
constexpr Micros kDay0 = 20514 * kMicrosPerDay;  // 2026-03-02

inline std::string Id(const char* kind, int n) { return std::string(kind) + "-" + std::to_string(n); }

class History {
  public:
    // Event times spread over `days` days from kDay0.
    explicit History(uint32_t seed, int days = 14) : rng_(seed), days_(days) {}

    Facts Make(int opportunities, int leads, int records) {
        Facts f;
        for (int l = 0; l < leads; ++l) {
            const int versions = Pick(1, 4);
            for (int v = 1; v <= versions; ++v) f.leads.push_back(Lead(l, v));
        }
        for (int o = 0; o < opportunities; ++o) {
            const int versions = Pick(1, 6);
            for (int v = 1; v <= versions; ++v) {
                f.opportunities.push_back(Opp(o, v, leads));
                if (Chance(0.15)) {  // a second event of the same version: the closing one
                    OpportunityVersion closing = Opp(o, v, leads);
                    closing.status = Chance(0.5) ? DealStatus::kWon : DealStatus::kLost;
                    f.opportunities.push_back(closing);
                }
            }
        }
        for (int r = 0; r < records; ++r) {
            const int versions = Pick(1, 3);
            for (int v = 1; v <= versions; ++v) {
                RecordVersion rv;
                rv.kind = r % 3 == 0 ? RecordKind::kCompany : RecordKind::kContact;
                rv.record_id = Id("record", r);
                rv.version = v;
                rv.event_id = Event();
                rv.occurred_at = Time();
                if (Chance(0.5)) rv.created_at = Time();
                if (Chance(0.1)) rv.deleted_at = Time();
                f.records.push_back(rv);
            }
        }
        // Some events delivered twice.
        for (size_t i = 0, n = f.opportunities.size(); i < n; ++i) {
            if (Chance(0.1)) f.opportunities.push_back(f.opportunities[i]);
        }
        for (size_t i = 0, n = f.leads.size(); i < n; ++i) {
            if (Chance(0.1)) f.leads.push_back(f.leads[i]);
        }
        return f;
    }

    int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
    std::mt19937& rng() { return rng_; }

  private:
    Micros Time() { return kDay0 + Pick(0, days_ * 24) * kHour; }
    std::string Event() { return Id("event", ++events_); }

    LeadVersion Lead(int l, int v) {
        LeadVersion lv;
        lv.lead_id = Id("lead", l);
        lv.version = v;
        lv.event_id = Event();
        lv.occurred_at = Time();
        if (v == 1 || Chance(0.3)) lv.source = Chance(0.5) ? "web" : "event";
        if (v == 1 || Chance(0.3)) lv.campaign_id = Chance(0.5) ? "c1" : "";
        if (Chance(0.5)) lv.owner_id = Chance(0.5) ? "u1" : "u2";
        if (v == 1) {
            lv.status = LeadStatus::kOpen;
            lv.created_at = lv.occurred_at;
            lv.response_due_at = lv.occurred_at + 4 * kHour;
        } else if (Chance(0.4)) {
            lv.status = LeadStatus::kConverted;
            if (Chance(0.5)) lv.converted_at = lv.occurred_at;
        } else if (Chance(0.5)) {
            lv.first_response_at = lv.occurred_at;
        }
        return lv;
    }

    OpportunityVersion Opp(int o, int v, int leads) {
        OpportunityVersion ov;
        ov.opportunity_id = Id("opp", o);
        ov.version = v;
        ov.event_id = Event();
        ov.occurred_at = Time();
        if (v == 1) {
            ov.pipeline_id = "p1";
            ov.status = DealStatus::kOpen;
            ov.amount_minor = Pick(1, 100000);
            ov.currency_code = Chance(0.7) ? "EUR" : "USD";
            ov.owner_id = Chance(0.5) ? "u1" : "u2";
            ov.created_at = ov.occurred_at;
            if (Chance(0.6)) ov.lead_id = Id("lead", Pick(0, leads + 2));  // some leads never arrive
            if (Chance(0.3)) ov.source = "direct";
        }
        if (v == 1 || Chance(0.6)) {
            const int stage = Pick(1, 3);
            ov.stage_id = "s" + std::to_string(stage);
            ov.stage_name = (Chance(0.2) ? "Renamed " : "Stage ") + std::to_string(stage);  // the order decides
            ov.probability_bp = Pick(0, 10000);
        }
        if (v > 1 && Chance(0.2)) ov.status = Chance(0.3) ? DealStatus::kOpen : DealStatus::kLost;  // reopen, lose
        if (Chance(0.3)) ov.expected_close_at = Time();
        if (v > 1 && Chance(0.2)) ov.amount_minor = Pick(1, 100000);
        if (v > 2 && Chance(0.05)) ov.deleted_at = ov.occurred_at;
        if (v > 1 && Chance(0.1)) ov.lead_id = Id("lead", Pick(0, leads));  // linked later
        return ov;
    }

    std::mt19937 rng_;
    int days_;
    int events_ = 0;
};

// Every version of the aggregates that `batch` touches, from all facts delivered so far (what the repository reads).
inline Facts ChangedAggregates(const Facts& all, const Facts& batch) {
    std::set<std::pair<RecordKind, std::string>> records;
    std::set<std::string> leads, opportunities;
    for (const auto& r : batch.records) records.insert({r.kind, r.record_id});
    for (const auto& l : batch.leads) leads.insert(l.lead_id);
    for (const auto& o : batch.opportunities) opportunities.insert(o.opportunity_id);
    Facts out;
    for (const auto& r : all.records) {
        if (records.count({r.kind, r.record_id})) out.records.push_back(r);
    }
    for (const auto& l : all.leads) {
        if (leads.count(l.lead_id)) out.leads.push_back(l);
    }
    for (const auto& o : all.opportunities) {
        if (opportunities.count(o.opportunity_id)) out.opportunities.push_back(o);
    }
    return out;
}

}  // namespace crm::analytics::domain::testing
