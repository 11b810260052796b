#pragma once
// Events of the contacts service that change cases, applied by the kit's consumer runtime (once per event, in the
// event's tenant): ContactsMerged moves the losers' cases to the survivor (cases area); ContactErased blanks what the
// erased person wrote (conversation area). Other contacts events are ignored.
#include "crm/common/consumer.hpp"

namespace crm::common {
class Outbox;
}

namespace crm::support::contact_events {

common::EventHandler MakeHandler(common::Db& db, common::Outbox& outbox);

}  // namespace crm::support::contact_events
