#include "retention/retention.hpp"

#include "crm/common/retention.hpp"
#include "retention/sql.hpp"

namespace crm::leads::retention {

std::vector<common::RetentionRule> Rules() {
    return {{.name = "unconverted_leads",
             .description = "leads not converted (new, working, nurturing, qualified, unqualified) by last change",
             .resource_type = "lead",
             .min_age_days = 30,
             .count = sql::kCount,
             .remove = sql::kDelete,
             .anonymise = sql::kAnonymise}};
}

}  // namespace crm::leads::retention
