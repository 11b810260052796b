#pragma once
// Turns one consumed event into the facts it contributes to the read models (domain/facts.hpp). Pure: no I/O. The
// live consumer and the rebuild both go through Project(), so a rebuild derives exactly what live consumption did.
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/facts.hpp"

namespace crm::common::v1 {
class EventEnvelope;
}

namespace crm::analytics::projection {

// The event claims a type the projections know but its payload cannot be read (or lacks what is needed): retrying
// cannot help; the consumer dead-letters it and the rebuild counts it as rejected.
class UninterpretableEvent : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The facts of one event; empty for event types that no read model needs (they are still marked processed).
// Throws UninterpretableEvent.
domain::Facts Project(const common::v1::EventEnvelope& envelope);

// Topics the projections read (the live consumer's default subscription and what a rebuild replays).
std::vector<std::string> DefaultTopics();

}  // namespace crm::analytics::projection
