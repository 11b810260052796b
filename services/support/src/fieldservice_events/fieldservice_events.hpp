#pragma once
// Events of the field-service service that concern cases, applied by the kit's consumer runtime (once per event, in
// the event's tenant): WorkOrderCompleted of a work order made for a case adds an internal note to the case (what was
// done, first-time fix or not, time on site, parts, the technician's notes). Nothing else changes: a first-time fix
// does not solve or close the case; the agent decides. A merged case's note goes to the case it was merged into; a
// case id this tenant does not have is ignored. Other field-service events are ignored.
#include "crm/common/consumer.hpp"

namespace crm::common {
class Outbox;
}

namespace crm::support::fieldservice_events {

common::EventHandler MakeHandler(common::Db& db, common::Outbox& outbox, int reopen_days);

}  // namespace crm::support::fieldservice_events
