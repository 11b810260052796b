#pragma once
// Field-service events (topic crm.fieldservice.v1) -> field facts (domain/field_facts.hpp). Pure: no I/O. Called by
// projection::Project() for the live consumer and the rebuild alike.
#include "domain/field_facts.hpp"

namespace crm::common::v1 {
class EventEnvelope;
}

namespace crm::analytics::field {

inline constexpr char kEventPrefix[] = "crm.fieldservice.events.v1.";

// The facts of one field-service event: WorkOrderCompleted, TechnicianCreated and TechnicianUpdated give one row;
// other events none. Throws projection::UninterpretableEvent when the payload cannot be read or lacks what is needed.
domain::FieldFacts Project(const common::v1::EventEnvelope& envelope);

}  // namespace crm::analytics::field
