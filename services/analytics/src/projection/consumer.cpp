#include "projection/consumer.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "campaign_kpis/projector.hpp"
#include "campaign_kpis/store.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "facts/store.hpp"
#include "field_kpis/store.hpp"
#include "projection/projector.hpp"
#include "projection/proto_time.hpp"
#include "support_kpis/store.hpp"

namespace crm::analytics::projection {
namespace {

// The consumer's own metrics, next to the runtime's crm_kafka_* families.
struct ProjectionMetrics {
    prometheus::Family<prometheus::Counter>& facts;
    prometheus::Family<prometheus::Histogram>& freshness;
    prometheus::Counter* records;
    prometheus::Counter* leads;
    prometheus::Counter* opportunities;
    prometheus::Counter* support_cases;
    prometheus::Counter* support_csat;
    prometheus::Counter* field_completions;
    prometheus::Counter* field_technicians;
    prometheus::Counter* campaign;
    prometheus::Histogram* event_to_applied;

    explicit ProjectionMetrics(common::Metrics& m)
        : facts(prometheus::BuildCounter()
                    .Name("crm_analytics_facts_applied_total")
                    .Help("Fact rows written into the read models by the live consumer, by projection.")
                    .Register(m.registry())),
          freshness(prometheus::BuildHistogram()
                        .Name("crm_analytics_event_freshness_seconds")
                        .Help("From an event's occurred_at (its commit in the producing service) to its facts "
                              "committed in the read models.")
                        .Register(m.registry())),
          records(&facts.Add({{"service", m.service()}, {"projection", "records"}})),
          leads(&facts.Add({{"service", m.service()}, {"projection", "leads"}})),
          opportunities(&facts.Add({{"service", m.service()}, {"projection", "opportunities"}})),
          support_cases(&facts.Add({{"service", m.service()}, {"projection", "support_cases"}})),
          support_csat(&facts.Add({{"service", m.service()}, {"projection", "support_csat"}})),
          field_completions(&facts.Add({{"service", m.service()}, {"projection", "field_completions"}})),
          field_technicians(&facts.Add({{"service", m.service()}, {"projection", "field_technicians"}})),
          campaign(&facts.Add({{"service", m.service()}, {"projection", "campaign"}})),
          event_to_applied(&freshness.Add({{"service", m.service()}},
                                          prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                                  0.5, 1, 2.5, 5, 10, 30, 60})) {}
};

}  // namespace

common::EventHandler MakeProjectionHandler(common::Db& db, common::Metrics& metrics) {
    auto m = std::make_shared<ProjectionMetrics>(metrics);
    return [&db, metrics = std::move(m)](pqxx::work& tx, const common::ConsumedEvent& ev) {
        if (!facts::TryConsumerLock(db, tx, ev.tenant_id())) {
            // A rebuild of this tenant holds the read models; the runtime retries without counting attempts.
            throw common::ApiError::Unavailable("a rebuild of this tenant's read models is running");
        }
        domain::Facts rows;
        try {
            rows = Project(ev.envelope);
        } catch (const UninterpretableEvent& e) {
            throw common::PermanentEventError(e.what());
        }
        facts::Apply(db, tx, ev.tenant_id(), rows);
        support::Apply(db, tx, ev.tenant_id(), rows.support);
        field::Apply(db, tx, ev.tenant_id(), rows.field);
        campaign::CampaignFacts campaign_rows;
        try {
            campaign_rows = campaign::Project(ev.envelope);
        } catch (const UninterpretableEvent& e) {
            throw common::PermanentEventError(e.what());
        }
        campaign::Apply(db, tx, ev.tenant_id(), campaign_rows);
        metrics->campaign->Increment(static_cast<double>(campaign_rows.costs.size() + campaign_rows.touches.size() +
                                                         campaign_rows.attributions.size()));
        metrics->records->Increment(static_cast<double>(rows.records.size()));
        metrics->leads->Increment(static_cast<double>(rows.leads.size()));
        metrics->opportunities->Increment(static_cast<double>(rows.opportunities.size()));
        metrics->support_cases->Increment(static_cast<double>(rows.support.cases.size()));
        metrics->support_csat->Increment(static_cast<double>(rows.support.csat.size()));
        metrics->field_completions->Increment(static_cast<double>(rows.field.completions.size()));
        metrics->field_technicians->Increment(static_cast<double>(rows.field.technicians.size()));
        const auto now =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        metrics->event_to_applied->Observe(
            std::max<double>(0, static_cast<double>(now - OccurredAt(ev.envelope)) / 1e6));
    };
}

}  // namespace crm::analytics::projection
