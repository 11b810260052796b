#pragma once
// privacy: email consent (with its history), GDPR export (art. 15/20) and erasure (art. 17). Application code over
// crm.contacts.v1 messages.
#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/contacts/v1/contacts.pb.h"

namespace crm::common {
class Outbox;
struct SubjectHandler;
}  // namespace crm::common

namespace crm::contacts::privacy {

namespace v1 = crm::contacts::v1;

// Records a consent change of a live contact (FAILED_PRECONDITION otherwise) and appends it to the history.
// `status` is OPTED_IN or OPTED_OUT, `source` checked (1..200 characters).
v1::Contact UpdateConsent(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const std::string& id, v1::ConsentStatus status, const std::string& source);

// Appends `consent` of a contact to its history in tx (MergeContacts, when the survivor's consent changes).
void LogConsent(common::Db& db, pqxx::work& tx, const common::RequestContext& rc, const std::string& contact_id,
                const v1::EmailConsent& consent);

// One entry of a contact's consent history.
struct ConsentChange {
    std::string contact_id;
    v1::ConsentStatus status = v1::CONSENT_STATUS_UNKNOWN;
    std::string source;
    google::protobuf::Timestamp change_time;
};

// Everything held on one person.
struct ContactExport {
    v1::Contact contact;
    std::optional<v1::Company> company;
    std::vector<v1::Contact> merged_contacts;    // merged into it, directly or transitively
    std::vector<ConsentChange> consent_history;  // of the contact and the merged contacts, oldest first
    google::protobuf::Timestamp export_time;
};

ContactExport ExportContact(common::Db& db, const common::RequestContext& rc, const std::string& id);

// The JSON document of ExportContactData: {"contact": {...}, "company": {"id", "name"} | null, "merged_contacts":
// [...], "consent_history": [...], "export_time": "..."}; contacts in proto JSON form with the proto field names.
std::string ExportToJson(const ContactExport& data);

// Erases the contact and the contacts merged into it (tombstones, consent history deleted, one ContactErased each).
// Erasing a tombstone returns it unchanged.
v1::Contact EraseContact(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                         const std::string& id);

// Erases the listed contacts in tx (those not yet tombstones): personal fields blanked, consent history deleted, one
// ContactErased each. Returns the contacts it erased.
std::vector<v1::Contact> EraseContactsIn(common::Db& db, common::Outbox& outbox, pqxx::work& tx,
                                         const common::RequestContext& rc, const std::vector<std::string>& ids);

// Data-subject requests (common/subject_data.hpp): the person's contacts (found by id or e-mail, with the contacts
// merged into them and the one they were merged into), exported and erased. In subject_data.cpp.
std::vector<common::SubjectHandler> SubjectHandlers();

}  // namespace crm::contacts::privacy
