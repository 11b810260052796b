#pragma once
// Analytics' part of data-subject requests (issue 15; the kit serves crm.privacy.v1.SubjectDataService:
// common/subject_data.hpp). The read models keep facts keyed by the person's ids: contact lifecycle facts (contact
// ids), lead facts (lead ids), the facts of deals converted from their leads and those deals' campaign attributions,
// and marketing touches of them as an audience member (contact or lead id). Export: those facts, every column.
// Erase: nothing to blank. The projectors keep no personal field (no name, e-mail, phone, address or free text about
// a person: the columns are ids, statuses, sources and campaign ids, owners of the tenant's team, stage names, amounts
// and times; support's CSAT comments are never stored), so an erasure changes no fact and every KPI stays as it was;
// the counts it answers are 0. A projector that starts keeping a personal field must blank it here.
#include <vector>

namespace crm::common {
struct SubjectHandler;
}

namespace crm::analytics::subject_data {

std::vector<common::SubjectHandler> Handlers();

}  // namespace crm::analytics::subject_data
