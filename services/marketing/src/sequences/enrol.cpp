// The consumer's side of sequences: enrolments by trigger events and exits (see sequences.hpp).
#include <crm/common/v1/event.pb.h>
#include <crm/contacts/events/v1/events.pb.h>
#include <crm/leads/events/v1/events.pb.h>
#include <crm/marketing/events/v1/events.pb.h>

#include "audience/audience.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "records.hpp"
#include "sequences/sequences.hpp"
#include "sequences/sql.hpp"

namespace crm::marketing::sequences {
namespace {

namespace ev = crm::marketing::events::v1;
namespace cev = crm::contacts::events::v1;
namespace lev = crm::leads::events::v1;

template <class T>
T Payload(const common::ConsumedEvent& ev) {
    T payload;
    if (!ev.envelope.payload().UnpackTo(&payload)) {
        throw common::PermanentEventError("payload of " + ev.event_type() + " cannot be read");
    }
    return payload;
}

// Enrols the person in every active sequence of the tenant whose trigger is (type, one of values); people not active
// in the audience (unknown, erased, converted, merged) are not enrolled.
struct Trigger {
    const std::string& tenant;
    const std::string& event_id;
    const std::string& event_type;
};

void EnrolMatching(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const Trigger& ev,
                   const std::string& person, v1::SequenceTriggerType type, std::vector<std::string> values) {
    const std::string& t = ev.tenant;
    if (!common::IsUuid(person)) return;
    const pqxx::result sequences =
        db.Exec(tx, sql::kTriggered, t, v1::SequenceTriggerType_Name(type), common::PgTextArray(values));
    if (sequences.empty()) return;
    const pqxx::result state = db.Exec(tx, sql::kPersonState, t, person);
    if (state.empty() || state[0][1].as<std::string>() != "active") return;
    for (const auto& s : sequences) {
        const std::string id = common::NewUuid();
        const std::string sequence_id = s[0].as<std::string>();
        const std::int64_t version = s[1].as<std::int64_t>();
        const pqxx::result enrolled = db.Exec(tx, sql::kEnrol, t, id, sequence_id, version, person, ev.event_id);
        if (enrolled.empty()) continue;  // enrolled before (this event redelivered, or an earlier trigger)
        ev::SequenceEnrolled e;
        e.set_enrolment_id(id);
        e.set_sequence_id(sequence_id);
        e.set_sequence_version(version);
        e.set_person_id(person);
        e.set_trigger_event_id(ev.event_id);
        e.set_trigger_event_type(ev.event_type);
        SetMicros(e.mutable_enrol_time(), enrolled[0][0].as<std::int64_t>());
        Emit(outbox, tx, t, "", kEnrolmentAggregate, id, 1, e);
    }
}

}  // namespace

void ApplyEvent(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::ConsumedEvent& ev,
                const audience::Changes& changes) {
    const std::string& t = ev.tenant_id();
    const std::string& type = ev.event_type();
    for (const auto& person : changes.erased) ExitPerson(db, outbox, tx, t, person, "erased");
    for (const auto& [loser, survivor] : changes.merged) ExitPerson(db, outbox, tx, t, loser, "inactive");

    // A person whose consent was withdrawn, or who left the active audience (deleted, merged away), exits.
    for (const auto& person : changes.refreshed) {
        if (!common::IsUuid(person)) continue;
        const pqxx::result state = db.Exec(tx, sql::kPersonState, t, person);
        if (state.empty()) continue;
        const std::string s = state[0][1].as<std::string>();
        if (s == "converted") {
            ExitPerson(db, outbox, tx, t, person, "converted");
        } else if (s != "active") {
            ExitPerson(db, outbox, tx, t, person, "inactive");
        } else if (state[0][2].as<std::string>() == "opted_out" || state[0][5].as<bool>()) {
            ExitPerson(db, outbox, tx, t, person, "unsubscribed");
        }
    }
    static const std::string contacts = "crm.contacts.events.v1.";
    static const std::string leads = "crm.leads.events.v1.";
    const Trigger trigger{t, ev.event_id(), type};
    if (type == leads + "LeadEngagementRecorded") {
        const auto e = Payload<lev::LeadEngagementRecorded>(ev);
        EnrolMatching(db, outbox, tx, trigger, e.lead().id(), v1::SEQUENCE_TRIGGER_TYPE_LEAD_ENGAGEMENT,
                      {e.engagement().type()});
    } else if (type == leads + "LeadCreated") {
        const auto e = Payload<lev::LeadCreated>(ev);
        EnrolMatching(db, outbox, tx, trigger, e.lead().id(), v1::SEQUENCE_TRIGGER_TYPE_LEAD_CREATED,
                      {"", common::text::AsciiLower(common::text::Trim(e.lead().source()))});
    } else if (type == leads + "LeadConverted") {
        ExitPerson(db, outbox, tx, t, Payload<lev::LeadConverted>(ev).lead().id(), "converted");
    } else if (type == contacts + "ContactCreated") {
        const auto e = Payload<cev::ContactCreated>(ev);
        std::vector<std::string> values = {""};
        for (const auto& tag : e.contact().tags()) values.push_back(common::text::AsciiLower(tag));
        EnrolMatching(db, outbox, tx, trigger, e.contact().id(), v1::SEQUENCE_TRIGGER_TYPE_CONTACT_CREATED, values);
    }
}

void EnrolEntered(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                  const std::string& segment_id, const std::vector<std::string>& entered, const std::string& event_id) {
    static const std::string kType = "crm.marketing.events.v1.SegmentMembershipChanged";
    const Trigger trigger{tenant, event_id, kType};
    if (db.Exec(tx, sql::kTriggered, tenant, v1::SequenceTriggerType_Name(v1::SEQUENCE_TRIGGER_TYPE_SEGMENT_ENTERED),
                common::PgTextArray({segment_id}))
            .empty()) {
        return;  // no sequence starts here: nothing per person
    }
    for (const auto& person : entered) {
        EnrolMatching(db, outbox, tx, trigger, person, v1::SEQUENCE_TRIGGER_TYPE_SEGMENT_ENTERED, {segment_id});
    }
}

}  // namespace crm::marketing::sequences
