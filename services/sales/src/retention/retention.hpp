#pragma once
// The sales service's retention rule (the kit applies it: common/retention.hpp): completed activities (calls, e-mails,
// meetings, tasks) completed before the tenant's policy — deleted, or anonymised (subject, description and outcome
// blanked; the row keeps its type, links, owner and times, so activity counts stay). Open activities are never
// touched. Each one is named in the RetentionApplied event of its batch.
#include <vector>

namespace crm::common {
struct RetentionRule;
}

namespace crm::sales::retention {

std::vector<common::RetentionRule> Rules();

}  // namespace crm::sales::retention
