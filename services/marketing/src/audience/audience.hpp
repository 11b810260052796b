#pragma once
// The audience area: marketing's own read model of people, built only from the contacts and leads events (it never
// reads another service's database). A contact or a lead snapshot upserts the person (newer versions only); a merge
// marks the losers merged and moves their engagements to the survivor; an erasure deletes the person (and the leads
// converted to it), keeps its touches as anonymous counts and remembers only the id. Engagements recorded on leads
// (whitepaper downloads, ...) and web-form submissions of a campaign are kept for segmentation and attribution.
#include <crm/marketing/v1/marketing.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crm/common/rpc.hpp"
#include "domain/segment.hpp"

namespace pqxx {
class transaction_base;
class row;
}  // namespace pqxx

namespace crm::common {
class Db;
struct ConsumedEvent;
}  // namespace crm::common

namespace crm::marketing::audience {

namespace v1 = crm::marketing::v1;

// A campaign touch the event recorded (a web-form submission): the consumer announces it with TouchRecorded.
struct NewTouch {
    std::string id, campaign_id, person_id, type, channel;
    std::int64_t micros = 0;
};

// What an event changed, for the segments area to bring memberships up to date in the same transaction.
struct Changes {
    std::vector<std::string> refreshed;                       // people whose fields or engagements changed
    std::vector<std::pair<std::string, std::string>> merged;  // (loser, survivor)
    std::vector<std::string> erased;                          // people removed everywhere
    std::vector<NewTouch> touches;                            // campaign touches recorded (not a change of people)
    bool empty() const { return refreshed.empty() && merged.empty() && erased.empty(); }
};

// Applies one event of crm.contacts.v1 or crm.leads.v1 (other types change nothing) in the consumer's transaction.
// Throws common::PermanentEventError for a payload that cannot be read.
Changes Apply(common::Db& db, pqxx::transaction_base& tx, const common::ConsumedEvent& ev);

// --- erasure (ContactErased, a retention rule's removed leads, a data-subject request) -----------------------------
// Each part changes only what is left (a second run changes 0 rows) and returns how many rows it changed.
// The person's touches (campaign engagements) stay as anonymous counts; their other engagements go.
std::int64_t EraseEngagements(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                              const std::string& person_id);
// The person's address leaves their email recipients (the rows, statuses and times stay: send counts).
std::int64_t ForgetRecipients(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                              const std::string& person_id);
// Erases a person: the id and the leads converted to it (or the contacts merged into it) are tombstoned in
// erased_people (a late snapshot cannot bring them back), their engagements and recipients' addresses handled as
// above, their data keys destroyed (ShredSubjects), and their audience rows deleted (a campaign's lead keeps an
// anonymous row, so that the campaign's lead counts stay). Adds the ids to changes.erased (the segments area then
// removes their memberships); returns the number of audience rows deleted or anonymised.
std::int64_t Erase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                   Changes& changes);

// A row of CRM_AUDIENCE_COLUMNS (audience/sql.hpp) as the API shows it, its sealed columns opened.
v1::AudienceMember ReadMember(const pqxx::row& row);
// The member as segment rules see it (without engagements).
domain::Person PersonOf(const v1::AudienceMember& member);

// The person as segment rules see it, with its engagements; nullopt when the tenant has no such person.
struct Loaded {
    domain::Person person;
    bool active = false;
};
std::optional<Loaded> LoadPerson(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                 const std::string& id);

// Records an engagement (a touch when campaign_id is set) of a person, once per source event id; the new
// engagement's id, or nullopt when that source event was recorded before.
std::optional<std::string> RecordEngagement(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                            const std::string& person_id, const std::string& type,
                                            const std::string& campaign_id, const std::string& channel,
                                            std::int64_t micros, const std::string& source_event);

class Audience {
  public:
    explicit Audience(common::Db& db) : db_(db) {}
    // NOT_FOUND when the tenant has no such person (or it was erased).
    v1::AudienceMember Get(const common::RequestContext& rc, const std::string& id);
    // The member with its campaign touches (GetAudienceMember).
    v1::GetAudienceMemberResponse GetWithTouches(const common::RequestContext& rc, const std::string& id);

  private:
    common::Db& db_;
};

}  // namespace crm::marketing::audience
