#include "register.hpp"

#include <grpcpp/grpcpp.h>

#include "api/sales_service.hpp"
#include "crm/common/service.hpp"
#include "scheduler.hpp"
#include "storage/repository.hpp"

namespace crm::sales {
namespace {
constexpr char kReminderPoll[] = "CRM_SALES_REMINDER_POLL_MS";
constexpr char kSnapshotCheck[] = "CRM_SALES_SNAPSHOT_CHECK_SECONDS";
constexpr char kSnapshotInterval[] = "CRM_SALES_SNAPSHOT_INTERVAL_SECONDS";
}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    return {
        {kReminderPoll, "how often the reminder scheduler looks for due activities, in milliseconds (100..60000)",
         "1000"},
        {kSnapshotCheck,
         "how often the snapshot scheduler checks, per tenant, whether a snapshot is due, in seconds (1..3600)", "15"},
        {kSnapshotInterval,
         "age after which the scheduler takes a new forecast snapshot of the current month and quarter, per "
         "tenant and currency, in seconds (60..2678400)",
         "86400"}};
}

void Register(common::ServiceApp& app) {
    SchedulerSettings settings;
    settings.reminder_poll = std::chrono::milliseconds(app.config().GetInt(kReminderPoll, 100, 60000));
    settings.snapshot_check = std::chrono::seconds(app.config().GetInt(kSnapshotCheck, 1, 3600));
    settings.snapshot_interval_seconds = app.config().GetInt(kSnapshotInterval, 60, 2678400);
    auto repository = std::make_shared<storage::Repository>(app.db(), app.outbox());
    app.AddService(api::MakeSalesService(app.rpc(), app.metrics(), repository));
    auto scheduler = std::make_shared<Scheduler>(settings, repository, app.metrics());
    app.OnStart([scheduler] { scheduler->Start(); });
    app.OnShutdown([scheduler] { scheduler->Stop(); });
}

}  // namespace crm::sales
