#pragma once
// The subject-data area: how the field service finds, exports and erases a person's records for the suite's
// data-subject requests (common/subject_data.hpp; the kit serves crm.privacy.v1.SubjectDataService over them).
//
// A person's work orders are those of one of their contacts, and those of a support case of one of their contacts
// (support_cases, from support's events). Nothing here names a person by e-mail, so resolve adds nothing.
//   work_order      exported whole (site, completion, signature, history); erase blanks the title (a fixed marker),
//                   description, site address and point, status reason, completion notes and checklist answers,
//                   the customer's signature and the reasons of status changes; ids, links, status, technician,
//                   durations, parts and times stay.
//   appointment     exported; erase rounds the visit's point to a 0.01 degree grid (about 1 km): the technician's
//                   calendar needs a point to estimate travel between bookings, a house is no longer found from it.
//   reservation     the parts lines (ids and quantities): exported; nothing personal to erase (count 0).
//   sync_operation  the stored results of a technician's offline operations on those work orders (their replies
//                   carry the work order): exported as JSON; erase rewrites each result with the same fields blanked,
//                   so a re-sent operation still gets its first answer.
// No event is emitted; the kit purges the relayed outbox rows of the work orders.
#include <vector>

namespace crm::common {
struct SubjectHandler;
}

namespace crm::fieldservice::subject_data {

std::vector<common::SubjectHandler> Handlers();

}  // namespace crm::fieldservice::subject_data
