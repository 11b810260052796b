#pragma once
// The subject-data area: how the support service finds, exports and erases a person's records for the suite's
// data-subject requests (common/subject_data.hpp; the kit serves crm.privacy.v1.SubjectDataService over them).
//
// A person's cases are those linked to one of their contacts or opened from one of their e-mail addresses; resolve
// adds those cases' contacts and addresses. Handlers, in the order an erasure runs them:
//   case_message  every entry of their cases (customer messages, public replies, internal notes, chat and phone
//                 transcripts, e-mail Message-IDs, attachment names) and their customer messages on other cases:
//                 blanked and marked erased (the conversation area's EraseAuthor does the latter, as for
//                 contacts' ContactErased); the sentiment score and label stay.
//   csat_survey   comments of their surveys (the csat area's EraseComments for their contacts); scores stay.
//   case          subject (a fixed marker), description, customer address, custom fields, routing notes; the case
//                 keeps its id, number, links, status, priority, SLA times, counters.
// No event is emitted (the other services erase their own copies in the same request); the kit purges the relayed
// outbox rows of the cases.
#include <vector>

namespace crm::common {
struct SubjectHandler;
}

namespace crm::support::subject_data {

std::vector<common::SubjectHandler> Handlers();

}  // namespace crm::support::subject_data
