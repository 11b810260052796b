#pragma once
// Support events (topic crm.support.v1) -> support facts (domain/support_facts.hpp). Pure: no I/O. Called by
// projection::Project() for the live consumer and the rebuild alike.
#include "domain/support_facts.hpp"

namespace crm::common::v1 {
class EventEnvelope;
}

namespace crm::analytics::support {

inline constexpr char kEventPrefix[] = "crm.support.events.v1.";

// The facts of one support event; empty for events no support KPI needs (ArticlePublished). Throws
// projection::UninterpretableEvent when the payload cannot be read or lacks the case id or version.
domain::SupportFacts Project(const common::v1::EventEnvelope& envelope);

}  // namespace crm::analytics::support
