#pragma once
// people: contacts — create, read, list, search, update, soft delete. Application code over crm.contacts.v1 messages:
// one function per use case, each in one tenant transaction (row-level security scopes it to the caller's tenant),
// with its event appended to the outbox in that transaction; errors a client must hear about are thrown as
// common::ApiError. Also what other areas need of a stored contact: its columns and reader, its load, its write.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/paging.hpp"
#include "crm/contacts/v1/contacts.pb.h"
#include "domain/normalize.hpp"
#include "domain/records.hpp"
#include "people/sealed.hpp"
#include "rows.hpp"

namespace crm::common {
class Outbox;
}

// clang-format off
// The columns ReadContact reads, in this order (table alias c): 22 of them, the last two the tenant and the wrapped
// data key that opens the sealed columns. Statements of other areas that return contacts select these and read them
// with people::ReadContact.
#define CRM_CONTACT_COLUMNS                                                                                        \
    "c.id::text, c.given_name, c.family_name, c.email, c.phone, c.job_title, coalesce(c.company_id::text, ''), "  \
    "c.owner_id, array_to_json(c.tags)::text, c.custom_fields::text, c.consent_status, "                          \
    CRM_MICROS("c.consent_change_time") ", c.consent_source, c.state, coalesce(c.merged_into_id::text, ''), "     \
    CRM_MICROS("c.create_time") ", " CRM_MICROS("c.update_time") ", " CRM_MICROS("c.delete_time") ", "            \
    CRM_MICROS("c.erase_time") ", c.version, c.tenant_id, " CRM_SUBJECT_KEY_COLUMN("c.tenant_id", "c.id::text")
// clang-format on

namespace crm::contacts::custom_fields {
class DefinitionCache;
}

namespace crm::contacts::people {

namespace v1 = crm::contacts::v1;

// At most this many possible duplicates come back from CreateContact.
inline constexpr int kCreateDuplicateLimit = 10;
inline constexpr int kContactColumnCount = 22;

// The blind index of a normalized e-mail or phone of the tenant ("" for "").
std::string EmailIndex(const std::string& tenant, std::string_view email);
std::string PhoneIndex(const std::string& tenant, std::string_view phone);

// ---- a stored contact, for every area ------------------------------------------------------------------------------

// A row of CRM_CONTACT_COLUMNS (from column 0), with the derived fields of WithDerivedFields.
v1::Contact ReadContact(const pqxx::row& row);
// The contact with the fields the service derives from the stored ones: display_name ("given family", else the
// email), etag ("v<version>"), and no consent change_time while the status is unknown.
v1::Contact WithDerivedFields(v1::Contact contact);
std::vector<v1::Contact> ReadContacts(const pqxx::result& rows);

// Consent status as the schema spells it ('UNKNOWN', 'OPTED_IN', 'OPTED_OUT'), both ways.
std::string ConsentStatusText(v1::ConsentStatus status);
v1::ConsentStatus ConsentStatusFromText(std::string_view text);

// The client-writable fields of a contact, for the rules of domain/ (normalization, masks, merge, duplicates).
domain::ContactFields FieldsOf(const v1::Contact& contact);

// The contact in any state; NOT_FOUND when the tenant has none with this id.
v1::Contact LoadContact(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id);

// Writable by UpdateContact, UpdateContactConsent and MergeContacts: active and not soft-deleted.
bool IsLive(const v1::Contact& contact);
// FAILED_PRECONDITION (reason CONTACT_NOT_ACTIVE) unless IsLive.
void RequireLive(const v1::Contact& contact);

// Optimistic write of every writable column from `fields` (normalized) and `consent`; ABORTED when the row is no
// longer at expected_version.
v1::Contact WriteContact(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                         const domain::ContactFields& fields, const v1::EmailConsent& consent,
                         std::int64_t expected_version);

// Appends an event of the contact aggregate (key: its id, version: its version) in tx.
void AppendContactEvent(common::Outbox& outbox, pqxx::work& tx, const common::RequestContext& rc,
                        const v1::Contact& contact, const google::protobuf::Message& payload);

// ---- use cases -----------------------------------------------------------------------------------------------------

// `contact` is normalized (domain::NormalizeContact). Idempotent by request_id. ALREADY_EXISTS (DUPLICATE_EMAIL) when
// an active contact has the same email and !allow_duplicate; weaker matches come back as possible_duplicates. The
// custom field values are checked against the tenant's definitions as cached in `definitions` (the create statement
// verifies the cached version and the definitions are reloaded when it moved on).
v1::CreateContactResponse CreateContact(common::Db& db, common::Outbox& outbox,
                                        custom_fields::DefinitionCache& definitions, const common::RequestContext& rc,
                                        const domain::ContactFields& contact, const std::string& request_id,
                                        bool allow_duplicate);

v1::Contact GetContact(common::Db& db, const common::RequestContext& rc, const std::string& id);

struct ContactListQuery {
    int page_size = common::kDefaultPageSize;  // resolved (1..500)
    std::string page_token;
    std::string tag;  // normalized; empty = any
    std::string owner_id;
    std::string company_id;                     // UUID or empty
    std::optional<std::int64_t> updated_after;  // microseconds since the epoch
    bool show_deleted = false;
};
common::Page<v1::Contact> ListContacts(common::Db& db, const common::RequestContext& rc, const ContactListQuery& query);

// An update as the client asked for it: patch values as sent (their text already checked), mask paths validated.
struct ContactUpdate {
    std::string id;
    domain::ContactFields patch;
    std::vector<std::string> mask_paths;
    std::string expected_etag;  // "v<version>" or empty (no check)
};
v1::Contact UpdateContact(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const domain::NormalizeSettings& settings, const ContactUpdate& update);

v1::Contact DeleteContact(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const std::string& id, const std::string& etag);

// `terms` from domain::ParseSearchQuery (at least one).
common::Page<v1::Contact> SearchContacts(common::Db& db, const common::RequestContext& rc,
                                         const std::vector<domain::SearchTerm>& terms, int page_size,
                                         const std::string& page_token);

}  // namespace crm::contacts::people
