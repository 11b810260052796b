#pragma once
// The subject-data area: how the marketing service finds, exports and erases a person's records for the suite's
// data-subject requests (common/subject_data.hpp; the kit serves crm.privacy.v1.SubjectDataService over them).
//
// The person's audience rows: their contact and lead ids, the leads converted to (and contacts merged into) their
// contacts, and the people with one of their addresses; resolve adds those rows' ids (contact or lead), their
// contacts and their addresses. An erasure is the one contacts' ContactErased causes (the audience area's Erase), run
// in parts so that each kind of record reports its count, in this order:
//   engagement          touches (campaign engagements) stay as anonymous counts (person removed), other
//                       engagements go;
//   email_recipient     the address leaves the person's messages (rows, statuses, times stay: send counts);
//   sequence_enrolment  active enrolments exit ("erased"), every enrolment forgets the person;
//   suppression         an unsubscribed or hard-bounced address stays suppressed: the row holds the address's
//                       blind index (or a keyed hash, domain/suppression.hpp), never the address, so nothing is
//                       left to blank (count 0), and a later send to a new person with that address skips it;
//   audience_member     the rows are deleted (their data keys destroyed), their ids tombstoned (a late event cannot
//   bring them back), the
//                       person leaves every segment (SegmentMembershipChanged, ids only).
// Campaign performance counts (touches, sends, deliveries) are unchanged by an erasure.
#include <memory>
#include <string>
#include <vector>

namespace crm::common {
struct SubjectHandler;
}

namespace crm::marketing::segments {
class Segments;
}

namespace crm::marketing::subject_data {

// internal_key: the service's secret (the suppression hashes' key).
std::vector<common::SubjectHandler> Handlers(std::shared_ptr<segments::Segments> segments, std::string internal_key);

}  // namespace crm::marketing::subject_data
