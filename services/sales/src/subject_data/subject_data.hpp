#pragma once
// The sales service's part of data-subject requests (issue 15; the kit serves crm.privacy.v1.SubjectDataService:
// common/subject_data.hpp). The person's records: opportunities linked to their contact ids or lead ids (with their
// stage history in the export), activities linked to their contact or lead, or to one of those opportunities without
// naming another person, and the quotes of those opportunities. Export: every column. Erase: free text about the
// person (activity subject, description and outcome; opportunity name, description and lost reason; quote title and
// rejection reason); required titles become a fixed marker. Amounts, currencies, stages, statuses, links, owners, line
// items and times stay: the forecast and analytics' KPIs do not move. No resolve step (sales links records to ids the
// person is already known by) and no event (nothing other services keep changes).
#include <vector>

namespace crm::common {
struct SubjectHandler;
}

namespace crm::sales::subject_data {

std::vector<common::SubjectHandler> Handlers();

}  // namespace crm::sales::subject_data
