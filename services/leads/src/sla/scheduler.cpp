#include "sla/scheduler.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <string>

#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "sla/sla.hpp"

namespace crm::leads::sla {

SlaScheduler::SlaScheduler(std::shared_ptr<Sla> sla, common::Metrics& metrics, std::chrono::milliseconds interval,
                           std::function<std::int64_t()> hourly_upkeep)
    : sla_(std::move(sla)),
      interval_(interval),
      hourly_upkeep_(std::move(hourly_upkeep)),
      breaches_(prometheus::BuildCounter()
                    .Name("crm_leads_sla_breaches_total")
                    .Help("First-touch deadlines that passed without a touch (LeadSlaBreached published).")
                    .Register(metrics.registry())
                    .Add({})),
      scan_errors_(prometheus::BuildCounter()
                       .Name("crm_leads_sla_scan_errors_total")
                       .Help("SLA scans or cleanups that failed (database unavailable); the next one retries.")
                       .Register(metrics.registry())
                       .Add({})),
      runner_("leads SLA",
              {{"upkeep", kUpkeepInterval, [this] { Upkeep(); }}, {"sla_scan", interval_, [this] { Scan(); }}}) {}

SlaScheduler::~SlaScheduler() { Stop(); }

void SlaScheduler::Start() { runner_.Start(); }

void SlaScheduler::Stop() { runner_.Stop(); }

void SlaScheduler::Upkeep() {
    if (!hourly_upkeep_) return;
    try {
        const std::int64_t removed = hourly_upkeep_();
        if (removed > 0) common::log::Info("cleanup", {{"rows_removed", std::to_string(removed)}});
    } catch (const std::exception& e) {
        scan_errors_.Increment();
        common::log::Warn("cleanup failed; retrying in an hour", {{"error", e.what()}});
    }
}

void SlaScheduler::Scan() {
    try {
        for (const auto& [tenant, id] : sla_->DueLeads(kBatch)) {
            if (sla_->Breach(tenant, id)) {
                breaches_.Increment();
                common::log::Info("first-touch SLA breached", {{"tenant", tenant}, {"lead_id", id}});
            }
        }
    } catch (const std::exception& e) {
        scan_errors_.Increment();
        common::log::Warn("SLA scan failed; retrying at the next interval", {{"error", e.what()}});
    }
}

}  // namespace crm::leads::sla
