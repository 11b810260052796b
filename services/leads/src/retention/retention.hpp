#pragma once
// The leads service's retention rule (the kit applies it: common/retention.hpp): unconverted leads whose last change
// is older than the tenant's policy — deleted with their engagements, or anonymised (personal fields blanked: names,
// e-mail, phone, company, job title, region, notes, status reason, consent text, custom attributes, engagement
// details; the row keeps its id, status, source, campaign, owner, score and times). Converted leads are never touched:
// they link the customer's history. A deleted or anonymised lead is named in the RetentionApplied event of its batch.
#include <vector>

namespace crm::common {
struct RetentionRule;
}

namespace crm::leads::retention {

std::vector<common::RetentionRule> Rules();

}  // namespace crm::leads::retention
