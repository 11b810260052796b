#include "sla/scheduler.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <string>

#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "sla/sla.hpp"

namespace crm::support::sla {
namespace {

const char* ActionLabel(domain::EscalationAction a) {
    switch (a) {
        case domain::EscalationAction::kReassign:
            return "reassign";
        case domain::EscalationAction::kRaisePriority:
            return "raise_priority";
        case domain::EscalationAction::kNotify:
            return "notify";
    }
    return "notify";
}

}  // namespace

SlaScheduler::SlaScheduler(std::shared_ptr<Sla> sla, common::Metrics& metrics, std::chrono::milliseconds interval)
    : sla_(std::move(sla)),
      interval_(interval),
      warnings_(prometheus::BuildCounter()
                    .Name("crm_support_sla_warnings_total")
                    .Help("SLA clocks that reached their warning share (SlaWarning published by this replica).")
                    .Register(metrics.registry())
                    .Add({})),
      breaches_(prometheus::BuildCounter()
                    .Name("crm_support_sla_breaches_total")
                    .Help("SLA targets that passed (SlaBreached published by this replica).")
                    .Register(metrics.registry())
                    .Add({})),
      escalations_(prometheus::BuildCounter()
                       .Name("crm_support_sla_escalations_total")
                       .Help("Escalation rules executed by this replica, by action.")
                       .Register(metrics.registry())),
      scan_errors_(prometheus::BuildCounter()
                       .Name("crm_support_sla_scan_errors_total")
                       .Help("SLA scans that failed (database unavailable); the next one retries.")
                       .Register(metrics.registry())
                       .Add({})),
      runner_("support SLA", {{"sla_scan", interval_, [this] { Scan(); }}}) {
    // Every action's series from the start (0): a replica that has not escalated yet shows a rate of 0, not nothing.
    for (const auto a : {domain::EscalationAction::kNotify, domain::EscalationAction::kReassign,
                         domain::EscalationAction::kRaisePriority}) {
        escalations_.Add({{"action", ActionLabel(a)}});
    }
}

SlaScheduler::~SlaScheduler() { Stop(); }

void SlaScheduler::Start() { runner_.Start(); }

void SlaScheduler::Stop() { runner_.Stop(); }

void SlaScheduler::Scan() {
    try {
        for (const DueTimer& timer : sla_->DueTimers(kBatch)) {
            const Sla::Fired fired = sla_->Fire(timer);
            if (!fired.fired) continue;
            (timer.stage == domain::SlaStage::kBreach ? breaches_ : warnings_).Increment();
            for (const auto action : fired.actions) escalations_.Add({{"action", ActionLabel(action)}}).Increment();
            common::log::Info(timer.stage == domain::SlaStage::kBreach ? "SLA breached" : "SLA warning",
                              {{"tenant", timer.tenant},
                               {"case_id", timer.case_id},
                               {"metric", domain::SlaMetricText(timer.metric)},
                               {"escalations", std::to_string(fired.actions.size())}});
        }
    } catch (const std::exception& e) {
        scan_errors_.Increment();
        common::log::Warn("SLA scan failed; retrying at the next interval", {{"error", e.what()}});
    }
}

}  // namespace crm::support::sla
