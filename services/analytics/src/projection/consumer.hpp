#pragma once
// The live projection: the consumer handler that turns each event of the producers' topics into fact rows (projector
// + facts store) in the runtime's transaction, with the projection's metrics (crm_analytics_facts_applied_total,
// crm_analytics_event_freshness_seconds).
#include <pqxx/pqxx>

#include "crm/common/consumer.hpp"

namespace crm::common {
class Db;
class Metrics;
}  // namespace crm::common

namespace crm::analytics::projection {

// The handler for common::EventConsumer: facts of the event applied once, or retried while a rebuild of the tenant
// holds its read models; an event that cannot be interpreted is a PermanentEventError (dead-lettered).
common::EventHandler MakeProjectionHandler(common::Db& db, common::Metrics& metrics);

}  // namespace crm::analytics::projection
