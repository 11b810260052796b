#include "register.hpp"

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/leads_service.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/service.hpp"
#include "crm/common/tls.hpp"
#include "storage/repository.hpp"

namespace crm::leads {
namespace {

constexpr char kContactsAddr[] = "CRM_LEADS_CONTACTS_ADDR";
constexpr char kSalesAddr[] = "CRM_LEADS_SALES_ADDR";
constexpr char kCallTimeout[] = "CRM_LEADS_CALL_TIMEOUT_MS";
constexpr char kSlaInterval[] = "CRM_LEADS_SLA_SCAN_INTERVAL_MS";
constexpr char kFailpoint[] = "CRM_LEADS_FAILPOINT";
constexpr char kUpstreamTls[] = "CRM_LEADS_UPSTREAM_TLS_";

// Finds leads whose first-touch deadline passed without a touch and publishes LeadSlaBreached once per lead. Safe with
// any number of replicas: the breach is an UPDATE ... WHERE sla_breach_time IS NULL of a row locked with SKIP LOCKED,
// so a lead is breached by exactly one of them.
class SlaScheduler {
  public:
    SlaScheduler(storage::Repository& repo, common::Metrics& metrics, std::chrono::milliseconds interval)
        : repo_(repo),
          interval_(interval),
          breaches_(prometheus::BuildCounter()
                        .Name("crm_leads_sla_breaches_total")
                        .Help("First-touch deadlines that passed without a touch (LeadSlaBreached published).")
                        .Register(metrics.registry())
                        .Add({})),
          scan_errors_(prometheus::BuildCounter()
                           .Name("crm_leads_sla_scan_errors_total")
                           .Help("SLA scans or cleanups that failed (database unavailable); the next one retries.")
                           .Register(metrics.registry())
                           .Add({})) {}

    void Start() {
        thread_ = std::thread([this] { Loop(); });
    }

    void Stop() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

  private:
    void Loop() {
        std::unique_lock lock(mutex_);
        while (!stop_) {
            lock.unlock();
            Scan();
            lock.lock();
            wake_.wait_for(lock, interval_, [this] { return stop_; });
        }
    }

    void Scan() {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_cleanup_ >= kCleanupInterval) {
            last_cleanup_ = now;
            try {
                const std::int64_t removed = repo_.Cleanup();
                if (removed > 0) common::log::Info("cleanup", {{"rows_removed", std::to_string(removed)}});
            } catch (const std::exception& e) {
                scan_errors_.Increment();
                common::log::Warn("cleanup failed; retrying at the next interval", {{"error", e.what()}});
            }
        }
        try {
            for (const auto& [tenant, id] : repo_.DueSlaLeads(200)) {
                if (repo_.BreachSla(tenant, id)) {
                    breaches_.Increment();
                    common::log::Info("first-touch SLA breached", {{"tenant", tenant}, {"lead_id", id}});
                }
            }
        } catch (const std::exception& e) {
            scan_errors_.Increment();
            common::log::Warn("SLA scan failed; retrying at the next interval", {{"error", e.what()}});
        }
    }

    // Used web-form nonces and old idempotency keys are dropped at start and then hourly.
    static constexpr std::chrono::hours kCleanupInterval{1};

    storage::Repository& repo_;
    std::chrono::milliseconds interval_;
    std::chrono::steady_clock::time_point last_cleanup_ = std::chrono::steady_clock::now() - kCleanupInterval;
    prometheus::Counter& breaches_;
    prometheus::Counter& scan_errors_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    std::vector<common::EnvVar> vars = {
        {kContactsAddr, "host:port of the contacts service (lead conversion creates people and companies there)",
         "127.0.0.1:50051"},
        {kSalesAddr, "host:port of the sales service (opportunities on conversion); empty = not available", ""},
        {kCallTimeout, "deadline of each call to contacts and sales, in milliseconds (bounded by the caller's)",
         "5000"},
        {kSlaInterval, "how often the SLA scheduler looks for passed first-touch deadlines, in milliseconds", "5000"},
        {kFailpoint, "test only: convert_after_contacts makes the process exit after the contacts calls of ConvertLead",
         ""}};
    for (auto& var : common::ClientTlsVars(kUpstreamTls, "contacts and sales")) vars.push_back(std::move(var));
    return vars;
}

void Register(common::ServiceApp& app) {
    const auto& config = app.config();
    api::Settings settings;
    settings.internal_key = config.Get("CRM_INTERNAL_KEY");
    // Web-form tokens get their own key, derived from the internal key, so a token can never pass as anything else.
    settings.form_token_key = common::HmacSha256(settings.internal_key, "crm.leads.web-form-token-key");
    settings.contacts_addr = config.Get(kContactsAddr);
    settings.sales_addr = config.Get(kSalesAddr);
    settings.call_timeout = std::chrono::milliseconds(config.GetInt(kCallTimeout, 100, 60000));
    settings.failpoint = config.Get(kFailpoint);
    if (!settings.failpoint.empty() && settings.failpoint != "convert_after_contacts") {
        throw common::ConfigError(std::string(kFailpoint) + " must be empty or convert_after_contacts");
    }
    settings.upstream_tls = common::ClientTlsFiles(config, kUpstreamTls);
    const auto interval = std::chrono::milliseconds(config.GetInt(kSlaInterval, 100, 3600000));
    auto repository = std::make_shared<storage::Repository>(app.db(), app.outbox());
    app.AddService(api::MakeLeadsService(app.rpc(), app.metrics(), repository, settings));
    auto scheduler = std::make_shared<SlaScheduler>(*repository, app.metrics(), interval);
    app.OnStart([scheduler, repository] { scheduler->Start(); });
    app.OnShutdown([scheduler] { scheduler->Stop(); });
}

}  // namespace crm::leads
