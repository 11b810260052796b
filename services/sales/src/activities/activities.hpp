#pragma once
// Activities (calls, emails, meetings, tasks), the timelines of the records they are linked to, and their reminders:
// the use cases of the activity RPCs and the reminder scheduler's round. Every use case runs one tenant transaction
// and writes its events to the outbox in it. Include only from the service's .cpp files: it pulls in pqxx and the
// generated protos.
#include <crm/sales/v1/sales.pb.h>

#include <memory>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"

namespace prometheus {
class Counter;
}

namespace crm::common {
class Metrics;
}

namespace crm::sales::activities {

namespace v1 = crm::sales::v1;
using common::RequestContext;

// ---- use cases (input checked by the handlers; ids lowercased)

v1::Activity Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Activity& in,
                    const std::string& request_id);
v1::Activity Get(common::Db& db, const RequestContext& rc, const std::string& id);
// Sets the `paths` of `in` (an open activity; `etag` checked); changing due_time or remind_time re-arms the reminder.
v1::Activity Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Activity& in,
                    const std::vector<std::string>& paths, const std::string& etag);
v1::Activity Complete(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                      const v1::CompleteActivityRequest& req);
// The timeline of one record, newest first.
common::Page<v1::Activity> List(common::Db& db, const RequestContext& rc, v1::RecordType type,
                                const std::string& record_id, int page_size, const std::string& page_token);

// ---- reminders

// Publishes ActivityDue for up to `limit` open activities whose reminder time passed; returns how many. Safe with
// several replicas: due rows are found across tenants under the read-only scheduler policy, then claimed per tenant
// with FOR UPDATE SKIP LOCKED and disarmed in the transaction that writes the event (exactly one per arming).
int PublishDueReminders(common::Db& db, common::Outbox& outbox, int limit);

// The reminder scheduler's round: publishes due reminders in batches until none is left, counting them in
// crm_sales_reminders_published_total.
class Reminders {
  public:
    Reminders(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, int batch = 500);
    void RunRound();

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    int batch_;
    prometheus::Counter& published_;
};

}  // namespace crm::sales::activities
