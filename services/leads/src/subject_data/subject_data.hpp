#pragma once
// The leads service's part of data-subject requests (issue 15; the kit serves crm.privacy.v1.SubjectDataService:
// common/subject_data.hpp). The person's leads are found by lead id, by converted contact id and by e-mail; resolving
// adds their ids, e-mails and converted contacts. Export: every column of those leads and of their engagements.
// Erase: the engagements' free text, then the leads' personal fields (names, e-mail, phone, company name, job title,
// region, notes, status reason, consent text, custom attributes, which hold what web forms mapped) are blanked; ids,
// status, score, source, campaign, owner, country, consent flag, conversion ids and times stay, so counts and KPIs do.
// No event: the erasure changes nothing other services keep (analytics holds no personal field of a lead; marketing
// and contacts take part in the same request themselves).
#include <vector>

namespace crm::common {
struct SubjectHandler;
}

namespace crm::leads::subject_data {

// The handlers in the order the kit runs them: engagements first (a lead found by e-mail only loses it in the lead's
// erasure).
std::vector<common::SubjectHandler> Handlers();

}  // namespace crm::leads::subject_data
