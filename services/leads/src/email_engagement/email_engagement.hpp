#pragma once
// The email_engagement area: marketing's EmailClicked and EmailOpened events (topic crm.marketing.v1) become
// engagements of the lead that was the recipient, so a click or an open moves the lead's score by the tenant's
// scoring rules (engagement type "email_clicked" or "email_opened", INBOUND, at the time of the click or open) with
// LeadEngagementRecorded and LeadScored. Applied through the consumer runtime: once per event (processed events in the
// same transaction). A recipient that is no lead of the tenant (a contact) or a converted lead (read-only) is skipped.
#include <string>

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
struct ConsumedEvent;
}  // namespace crm::common

namespace crm::leads::email_engagement {

// The engagement detail that marks an engagement as marketing's (marketing does not take it back as its own).
inline constexpr char kDetailPrefix[] = "marketing send ";

// Applies one consumed event of marketing's topic; other event types change nothing. True when an engagement was
// recorded.
bool Apply(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::ConsumedEvent& ev);

}  // namespace crm::leads::email_engagement
