#pragma once
// The attribution area: closed-loop attribution of won deals (from crm.sales.v1) to the campaigns whose touches
// preceded them (domain/attribution.hpp: five models, exact minor units), retraction when a won deal is lost, reopened
// or deleted, and GetCampaignPerformance.
#include <crm/marketing/v1/marketing.pb.h>

#include <cstdint>
#include <string>

#include "crm/common/rpc.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
struct ConsumedEvent;
}  // namespace crm::common

namespace crm::marketing::attribution {

namespace v1 = crm::marketing::v1;

inline constexpr char kAggregateType[] = "attribution";

// Applies an event of crm.sales.v1 in the consumer's transaction (other types change nothing): the deal's snapshot
// (for the influenced pipeline) and, for wins and their reversals, the attribution. `lookback_days` bounds how old a
// touch may be at the close.
void Apply(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::ConsumedEvent& ev,
           int lookback_days);

class Performance {
  public:
    Performance(common::Db& db, int lookback_days) : db_(db), lookback_days_(lookback_days) {}
    // NOT_FOUND for a campaign the tenant does not have. The influenced pipeline is the deals open now whose people
    // the campaign touched within the lookback before the period's end (or now, when that is earlier).
    v1::GetCampaignPerformanceResponse Get(const common::RequestContext& rc, const std::string& campaign_id,
                                           std::int64_t start_micros, std::int64_t end_micros);

  private:
    common::Db& db_;
    int lookback_days_;
};

}  // namespace crm::marketing::attribution
