#pragma once
// Marketing events (topic crm.marketing.v1) -> campaign facts (campaign_kpis/facts.hpp). Pure: no I/O. Called by the
// live consumer (projection/consumer.cpp).
#include "campaign_kpis/facts.hpp"

namespace crm::common::v1 {
class EventEnvelope;
}

namespace crm::analytics::campaign {

inline constexpr char kEventPrefix[] = "crm.marketing.events.v1.";
inline constexpr char kTopic[] = "crm.marketing.v1";

// The facts of one marketing event: CampaignCostAdded a cost line, TouchRecorded a touch, AttributionComputed a split
// or its retraction; other events none. Throws projection::UninterpretableEvent when the payload cannot be read or
// lacks what is needed.
CampaignFacts Project(const common::v1::EventEnvelope& envelope);

}  // namespace crm::analytics::campaign
