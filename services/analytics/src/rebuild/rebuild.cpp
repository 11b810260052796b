#include "rebuild/rebuild.hpp"

#include <crm/common/v1/event.pb.h>

#include <algorithm>
#include <set>

#include "crm/common/consumer.hpp"
#include "crm/common/db.hpp"
#include "crm/common/log.hpp"
#include "facts/store.hpp"
#include "field_kpis/store.hpp"
#include "projection/projector.hpp"
#include "rebuild/log_reader.hpp"
#include "support_kpis/store.hpp"

namespace crm::analytics::rebuild {

namespace {

struct TenantBuffer {
    domain::Facts facts;
    int64_t applied = 0;
    int64_t rejected = 0;
};

// Rows only in a / only in b of two vectors sorted the same way (multiset difference).
template <class T, class Less>
std::pair<int64_t, int64_t> Diff(std::vector<T> a, std::vector<T> b, Less less) {
    std::sort(a.begin(), a.end(), less);
    std::sort(b.begin(), b.end(), less);
    int64_t only_a = 0, only_b = 0;
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (j == b.size() || (i < a.size() && less(a[i], b[j]))) {
            ++only_a, ++i;
        } else if (i == a.size() || less(b[j], a[i])) {
            ++only_b, ++j;
        } else {
            if (!(a[i] == b[j])) ++only_a, ++only_b;  // same key, different content
            ++i, ++j;
        }
    }
    return {only_a, only_b};
}

template <class T, class Less>
ProjectionDiff Compare(const char* name, const std::vector<T>& live, const std::vector<T>& rebuilt, Less less) {
    const auto [only_live, only_rebuilt] = Diff(live, rebuilt, less);
    return {name, static_cast<int64_t>(live.size()), static_cast<int64_t>(rebuilt.size()), only_live, only_rebuilt};
}

struct ValidateOnly {
    TenantResult result;
};

}  // namespace

RebuildResult Rebuild(common::Db& db, const RebuildSettings& settings, const std::string& tenant, bool all_tenants,
                      bool validate_only) {
    RebuildResult out;
    out.topics = settings.topics;
    LogReader reader(settings.brokers, settings.topics, settings.kafka);
    std::map<std::string, TenantBuffer> buffers;
    buffers[tenant];

    auto take = [&](const LogMessage& m) {
        ++out.messages_read;
        common::v1::EventEnvelope env;
        // Unusable envelopes were dead-lettered by the live consumer too: nothing to apply.
        if (!env.ParseFromArray(m.data, static_cast<int>(m.size)) || !common::EnvelopeProblem(env).empty()) return;
        if (!all_tenants && env.tenant_id() != tenant) return;
        TenantBuffer& b = buffers[env.tenant_id()];
        try {
            b.facts.Append(projection::Project(env));
            ++b.applied;
        } catch (const projection::UninterpretableEvent&) {
            ++b.rejected;
        }
    };

    reader.ReadToEnd(take, settings.timeout);

    std::vector<std::string> tenants;
    for (const auto& [t, b] : buffers) tenants.push_back(t);
    for (const auto& t : tenants) {
        TenantResult result;
        try {
            result = db.InTenant(t, [&](pqxx::work& tx) {
                facts::RebuildLock(db, tx, t);
                reader.ReadToEnd(take, settings.timeout);  // what arrived meanwhile (this tenant is now paused)
                const TenantBuffer& b = buffers[t];
                TenantResult r;
                r.tenant_id = t;
                r.events_applied = b.applied;
                r.events_rejected = b.rejected;
                const domain::Facts live = facts::Load(db, tx, t);
                const support::TenantRows live_support = support::LoadAll(db, tx, t);
                const domain::FieldFacts live_field = field::LoadAll(db, tx, t);
                facts::DeleteAll(db, tx, t);
                support::DeleteAll(db, tx, t);
                field::DeleteAll(db, tx, t);
                facts::Apply(db, tx, t, b.facts);
                support::Apply(db, tx, t, b.facts.support);
                field::Apply(db, tx, t, b.facts.field);
                const domain::Facts rebuilt = facts::Load(db, tx, t);
                const support::TenantRows rebuilt_support = support::LoadAll(db, tx, t);
                const domain::FieldFacts rebuilt_field = field::LoadAll(db, tx, t);
                r.projections.push_back(
                    Compare("records", live.records, rebuilt.records, [](const auto& x, const auto& y) {
                        return std::tie(x.kind, x.record_id, x.version, x.event_id) <
                               std::tie(y.kind, y.record_id, y.version, y.event_id);
                    }));
                r.projections.push_back(Compare("leads", live.leads, rebuilt.leads, [](const auto& x, const auto& y) {
                    return std::tie(x.lead_id, x.version, x.event_id) < std::tie(y.lead_id, y.version, y.event_id);
                }));
                r.projections.push_back(Compare("opportunities", live.opportunities, rebuilt.opportunities,
                                                [](const auto& x, const auto& y) {
                                                    return std::tie(x.opportunity_id, x.version, x.event_id) <
                                                           std::tie(y.opportunity_id, y.version, y.event_id);
                                                }));
                r.projections.push_back(Compare("support_cases", live_support.facts.cases, rebuilt_support.facts.cases,
                                                [](const auto& x, const auto& y) {
                                                    return std::tie(x.case_id, x.version, x.event_id) <
                                                           std::tie(y.case_id, y.version, y.event_id);
                                                }));
                r.projections.push_back(Compare("support_case_spans", live_support.spans, rebuilt_support.spans,
                                                [](const auto& x, const auto& y) { return x.case_id < y.case_id; }));
                r.projections.push_back(
                    Compare("support_csat", live_support.facts.csat, rebuilt_support.facts.csat,
                            [](const auto& x, const auto& y) { return x.survey_id < y.survey_id; }));
                r.projections.push_back(Compare("field_completions", live_field.completions, rebuilt_field.completions,
                                                [](const auto& x, const auto& y) {
                                                    return std::tie(x.work_order_id, x.version, x.event_id) <
                                                           std::tie(y.work_order_id, y.version, y.event_id);
                                                }));
                r.projections.push_back(Compare("field_technicians", live_field.technicians, rebuilt_field.technicians,
                                                [](const auto& x, const auto& y) {
                                                    return std::tie(x.technician_id, x.version, x.event_id) <
                                                           std::tie(y.technician_id, y.version, y.event_id);
                                                }));
                r.consistent = std::all_of(r.projections.begin(), r.projections.end(), [](const ProjectionDiff& d) {
                    return d.only_live == 0 && d.only_rebuilt == 0;
                });
                if (validate_only) throw ValidateOnly{r};  // rolls the transaction back
                r.swapped = true;
                return r;
            });
        } catch (const ValidateOnly& v) {
            result = v.result;
        }
        common::log::Info("projections rebuilt", {{"tenant", t},
                                                  {"events_applied", std::to_string(result.events_applied)},
                                                  {"events_rejected", std::to_string(result.events_rejected)},
                                                  {"consistent", result.consistent ? "true" : "false"},
                                                  {"swapped", result.swapped ? "true" : "false"}});
        out.tenants.push_back(std::move(result));
    }
    return out;
}

}  // namespace crm::analytics::rebuild
