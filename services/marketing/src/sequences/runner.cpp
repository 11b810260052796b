// The sequence runner (see runner.hpp).
#include "sequences/runner.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "sequences/sql.hpp"
#include "sequences/steps.hpp"

namespace crm::marketing::sequences {
namespace {
constexpr int kDiscoveryLimit = 500;
}  // namespace

Runner::Runner(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, RunnerSettings settings)
    : db_(db),
      outbox_(outbox),
      settings_(std::move(settings)),
      leads_(std::make_unique<LeadsCaller>(settings_.leads_addr, settings_.leads_tls, settings_.internal_key,
                                           settings_.call_timeout)),
      steps_(prometheus::BuildCounter()
                 .Name("crm_marketing_sequence_steps_total")
                 .Help("Sequence steps run, by action (send_email, wait, branch, split, add_to_list, "
                       "record_lead_engagement, change_lead_status, stop).")
                 .Register(metrics.registry())),
      runner_("marketing sequences", {{"sequence_round", settings_.tick, [this] { RunRound(); }}}) {}

Runner::~Runner() { Stop(); }

void Runner::Start() { runner_.Start(); }

void Runner::Stop() { runner_.Stop(); }

void Runner::RunRound() {
    const std::vector<std::string> tenants = db_.InTenant(std::string(), [&](pqxx::work& tx) {
        db_.Exec(tx, sql::kMaintenanceOn);
        std::vector<std::string> out;
        for (const auto& r : db_.Exec(tx, sql::kDueTenants, kDiscoveryLimit)) out.push_back(r[0].as<std::string>());
        return out;
    });
    for (const auto& tenant : tenants) {
        for (int i = 0; i < settings_.batch && !runner_.stopping(); ++i) {
            if (!RunOne(tenant)) break;
        }
    }
}

bool Runner::RunOne(const std::string& tenant) {
    Enrolment claimed;
    claimed.tenant = tenant;
    try {
        return db_.InTenant(tenant, [&](pqxx::work& tx) {
            const pqxx::result rows = db_.Exec(tx, sql::kClaimDue, tenant);
            if (rows.empty()) return false;
            const auto& r = rows[0];
            claimed.id = r[0].as<std::string>();
            claimed.sequence_id = r[1].as<std::string>();
            claimed.version = r[2].as<std::int64_t>();
            claimed.person_id = r[3].as<std::string>();
            claimed.next_step = r[5].as<int>();
            claimed.event_seq = r[9].as<std::int64_t>();
            const RunResult result = RunEnrolment(db_, outbox_, tx, *leads_, claimed);
            for (const auto& action : result.actions) steps_.Add({{"action", action}}).Increment();
            return true;
        });
    } catch (const std::exception& e) {
        // Nothing of the step was kept; the enrolment waits before it is tried again (leads down, a database fault).
        common::log::Warn("sequence step failed; retried later",
                          {{"enrolment_id", claimed.id}, {"error_type", typeid(e).name()}});
        if (claimed.id.empty()) return false;
        db_.InTenant(tenant, [&](pqxx::work& tx) {
            db_.Exec(tx, sql::kPostpone, tenant, claimed.id, settings_.retry_after.count());
        });
        return true;
    }
}

}  // namespace crm::marketing::sequences
