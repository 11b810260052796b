#include "register.hpp"

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "activities/activities.hpp"
#include "crm/clients/contacts.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/retention.hpp"
#include "crm/common/scheduler.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/service.hpp"
#include "crm/common/subject_data.hpp"
#include "crm/common/tls.hpp"
#include "forecast/forecast.hpp"
#include "grpc_service.hpp"
#include "retention/retention.hpp"
#include "sealed.hpp"
#include "subject_data/subject_data.hpp"

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
    app.AddRetentionRules(retention::Rules());
    // Activities and deals written before their personal columns were sealed (migration 0007): sealed before serving.
    app.AddColumnBackfill("activities", [table = sealed::Activities()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("opportunities", [table = sealed::Opportunities()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddSubjectHandlers(subject_data::Handlers());
    const auto reminder_poll = std::chrono::milliseconds(app.config().GetInt(kReminderPoll, 100, 60000));
    const auto snapshot_check = std::chrono::seconds(app.config().GetInt(kSnapshotCheck, 1, 3600));
    const long snapshot_interval = app.config().GetInt(kSnapshotInterval, 60, 2678400);
    clients::ContactsSettings links{.caller = "sales", .address_variable = kContactsAddr};
    links.contacts_addr = app.config().Get(kContactsAddr);
    links.internal_key = app.config().Get("CRM_INTERNAL_KEY");
    links.call_timeout = std::chrono::milliseconds(app.config().GetInt(kCallTimeout, 100, 60000));
    links.tls = common::ClientTlsFiles(app.config(), kUpstreamTls);

    app.AddService(std::make_shared<SalesService>(app.rpc(), app.metrics(), app.db(), app.outbox(),
                                                  std::make_shared<const clients::ContactsClient>(links)));

    auto reminders = std::make_shared<activities::Reminders>(app.db(), app.outbox(), app.metrics());
    auto snapshots =
        std::make_shared<forecast::ScheduledSnapshots>(app.db(), app.outbox(), app.metrics(), snapshot_interval);
    auto& failures = prometheus::BuildCounter()
                         .Name("crm_sales_scheduler_failures_total")
                         .Help("Scheduler rounds that failed (retried at the next round).")
                         .Register(app.metrics().registry())
                         .Add({});
    auto scheduler = std::make_shared<common::Scheduler>(
        "sales",
        std::vector<common::ScheduledJob>{
            {"reminders", reminder_poll, [reminders] { reminders->RunRound(); }},
            {"forecast_snapshots", snapshot_check, [snapshots] { snapshots->RunRound(); }}},
        &failures);
    app.OnStart([scheduler] { scheduler->Start(); });
    app.OnShutdown([scheduler] { scheduler->Stop(); });
}

}  // namespace crm::sales
