#include "register.hpp"

#include <grpcpp/grpcpp.h>

#include "api/links.hpp"
#include "api/sales_service.hpp"
#include "crm/common/service.hpp"
#include "crm/common/tls.hpp"
#include "scheduler.hpp"
#include "storage/repository.hpp"

namespace crm::sales {
namespace {
constexpr char kReminderPoll[] = "CRM_SALES_REMINDER_POLL_MS";
constexpr char kSnapshotCheck[] = "CRM_SALES_SNAPSHOT_CHECK_SECONDS";
constexpr char kSnapshotInterval[] = "CRM_SALES_SNAPSHOT_INTERVAL_SECONDS";
constexpr char kContactsAddr[] = "CRM_SALES_CONTACTS_ADDR";
constexpr char kCallTimeout[] = "CRM_SALES_CALL_TIMEOUT_MS";
constexpr char kUpstreamTls[] = "CRM_SALES_UPSTREAM_TLS_";
}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    std::vector<common::EnvVar> vars = {
        {kReminderPoll, "how often the reminder scheduler looks for due activities, in milliseconds (100..60000)",
         "1000"},
        {kSnapshotCheck,
         "how often the snapshot scheduler checks, per tenant, whether a snapshot is due, in seconds (1..3600)", "15"},
        {kSnapshotInterval,
         "age after which the scheduler takes a new forecast snapshot of the current month and quarter, per "
         "tenant and currency, in seconds (60..2678400)",
         "86400"},
        {kContactsAddr,
         "host:port of the contacts service, which checks an opportunity's contact_id and company_id when they are "
         "set or changed; empty = such links are refused (FAILED_PRECONDITION), never stored unchecked",
         ""},
        {kCallTimeout, "deadline of each call to contacts, in milliseconds (bounded by the caller's; 100..60000)",
         "3000"}};
    for (auto& var : common::ClientTlsVars(kUpstreamTls, "contacts")) vars.push_back(std::move(var));
    return vars;
}

void Register(common::ServiceApp& app) {
    SchedulerSettings settings;
    settings.reminder_poll = std::chrono::milliseconds(app.config().GetInt(kReminderPoll, 100, 60000));
    settings.snapshot_check = std::chrono::seconds(app.config().GetInt(kSnapshotCheck, 1, 3600));
    settings.snapshot_interval_seconds = app.config().GetInt(kSnapshotInterval, 60, 2678400);
    api::LinkSettings links;
    links.contacts_addr = app.config().Get(kContactsAddr);
    links.internal_key = app.config().Get("CRM_INTERNAL_KEY");
    links.call_timeout = std::chrono::milliseconds(app.config().GetInt(kCallTimeout, 100, 60000));
    links.tls = common::ClientTlsFiles(app.config(), kUpstreamTls);
    auto repository = std::make_shared<storage::Repository>(app.db(), app.outbox());
    app.AddService(api::MakeSalesService(app.rpc(), app.metrics(), repository,
                                         std::make_shared<const api::ContactLinks>(std::move(links))));
    auto scheduler = std::make_shared<Scheduler>(settings, repository, app.metrics());
    app.OnStart([scheduler] { scheduler->Start(); });
    app.OnShutdown([scheduler] { scheduler->Stop(); });
}

}  // namespace crm::sales
