#include "retention/retention.hpp"

#include "crm/common/retention.hpp"
#include "retention/sql.hpp"

namespace crm::sales::retention {

std::vector<common::RetentionRule> Rules() {
    return {{.name = "completed_activities",
             .description = "completed activities (calls, e-mails, meetings, tasks) by completion time",
             .resource_type = "activity",
             .min_age_days = 30,
             .count = sql::kCount,
             .remove = sql::kDelete,
             .anonymise = sql::kAnonymise}};
}

}  // namespace crm::sales::retention
