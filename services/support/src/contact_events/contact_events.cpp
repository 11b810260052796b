#include "contact_events/contact_events.hpp"

#include <crm/common/v1/event.pb.h>

#include "cases/cases.hpp"
#include "conversation/conversation.hpp"
#include "crm/common/resource.hpp"
#include "crm/contacts/events/v1/events.pb.h"
#include "csat/csat.hpp"

namespace crm::support::contact_events {
namespace {

namespace cev1 = crm::contacts::events::v1;

template <class M>
M Unpack(const common::ConsumedEvent& event) {
    M message;
    if (!event.envelope.payload().UnpackTo(&message)) {
        throw common::PermanentEventError("payload of " + event.event_type() + " cannot be read");
    }
    return message;
}

std::string IdOrThrow(const std::string& value) {
    common::Violations v;
    std::string id = common::CheckId(v, value, "id");
    if (id.empty()) throw common::PermanentEventError("an event id field is not a UUID");
    return id;
}

}  // namespace

common::EventHandler MakeHandler(common::Db& db, common::Outbox& outbox) {
    return [&db, &outbox](pqxx::work& tx, const common::ConsumedEvent& event) {
        const std::string& type = event.event_type();
        if (type == "crm.contacts.events.v1.ContactsMerged") {
            const auto merged = Unpack<cev1::ContactsMerged>(event);
            const std::string survivor = IdOrThrow(merged.survivor_id());
            for (const auto& loser : merged.loser_ids()) {
                cases::MoveContactCases(db, outbox, tx, event.tenant_id(), IdOrThrow(loser), survivor);
                csat::MoveContact(db, tx, event.tenant_id(), IdOrThrow(loser), survivor);
            }
        } else if (type == "crm.contacts.events.v1.ContactErased") {
            const auto erased = Unpack<cev1::ContactErased>(event);
            conversation::EraseAuthor(db, tx, event.tenant_id(), IdOrThrow(erased.contact_id()));
            csat::EraseComments(db, tx, event.tenant_id(), IdOrThrow(erased.contact_id()));
        }
    };
}

}  // namespace crm::support::contact_events
