#pragma once
// The forecast of a period (month or quarter) in one currency, its snapshots (taken on request and by the scheduler)
// and their accuracy against what was won since. Figures come from domain::ComputeForecast over the deals of the
// period. Include only from the service's .cpp files: it pulls in pqxx and the generated protos.
#include <crm/sales/v1/sales.pb.h>

#include <string>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "domain/dates.hpp"

namespace prometheus {
class Counter;
}

namespace crm::common {
class Metrics;
}

namespace crm::sales::forecast {

namespace v1 = crm::sales::v1;
using common::RequestContext;

// ---- use cases (input checked by the handlers; `period` is the one containing the request's start_date)

// `req`'s currency, optional pipeline (NOT_FOUND when it is not the tenant's) and owner.
v1::GetForecastResponse Get(common::Db& db, const RequestContext& rc, const v1::GetForecastRequest& req,
                            const domain::Period& period);
// A manual snapshot (idempotent with request_id); ForecastSnapshotTaken.
v1::ForecastSnapshot TakeSnapshot(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                  const domain::Period& period, const std::string& currency,
                                  const std::string& request_id);
// Newest first.
common::Page<v1::ForecastSnapshot> ListSnapshots(common::Db& db, const RequestContext& rc, const domain::Period& period,
                                                 const std::string& currency, int page_size,
                                                 const std::string& page_token);
v1::GetForecastAccuracyResponse GetAccuracy(common::Db& db, const RequestContext& rc, const std::string& snapshot_id);

// ---- the snapshot scheduler

// For every tenant, takes a snapshot of the current month and quarter per currency with open or won deals in it when
// the last scheduled one is older than `interval_seconds`; returns how many it took. Safe with several replicas: a
// tenant's snapshots are taken under a transaction-scoped advisory lock after checking the last one's age.
int TakeScheduledSnapshots(common::Db& db, common::Outbox& outbox, long interval_seconds);

// The snapshot scheduler's round, counting in crm_sales_forecast_snapshots_total{trigger="scheduled"}.
class ScheduledSnapshots {
  public:
    ScheduledSnapshots(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, long interval_seconds);
    void RunRound();

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    long interval_seconds_;
    prometheus::Counter& taken_;
};

}  // namespace crm::sales::forecast
