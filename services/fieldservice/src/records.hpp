#pragma once
// What every area's application code does the same way with its rows and events: stored times (microseconds since the
// epoch, as the statements return them) to and from the API's timestamps, uuid[] parameters, and an event into the
// outbox with the fields every field-service payload carries (tenant_id, occurred_at). Include only from the areas'
// .cpp files: it pulls in pqxx and the generated protos.
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"

// SQL fragments for times: they travel as microseconds since the epoch (bigint).
// clang-format off
#define CRM_FS_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_FS_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
// clang-format on

namespace prometheus {
class Counter;
}

namespace crm::common {
class Metrics;
}

namespace crm::fieldservice {

// The service's own metrics (crm_fieldservice_*), next to the standard RPC metrics of the common runtime.
struct FieldServiceMetrics {
    explicit FieldServiceMetrics(common::Metrics& metrics);
    prometheus::Counter& bookings;
    prometheus::Counter& booking_conflicts;
    prometheus::Counter& completions;
    prometheus::Counter& reorder_alerts;
    // SyncTechnicianDay's offline operations by outcome (applied, conflict, duplicate, rejected).
    prometheus::Counter& sync_applied;
    prometheus::Counter& sync_conflicts;
    prometheus::Counter& sync_duplicates;
    prometheus::Counter& sync_rejected;
};

inline std::int64_t Micros(const google::protobuf::Timestamp& t) {
    return google::protobuf::util::TimeUtil::TimestampToMicroseconds(t);
}
inline google::protobuf::Timestamp FromMicros(std::int64_t micros) {
    return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
}
inline void SetTime(google::protobuf::Timestamp* out, const pqxx::field& micros) {
    *out = FromMicros(micros.as<std::int64_t>());
}
inline std::int64_t NowMicros() {
    return google::protobuf::util::TimeUtil::TimestampToMicroseconds(
        google::protobuf::util::TimeUtil::GetCurrentTime());
}

// "{a,b}": a uuid[] statement parameter (ids the handlers checked, or ids read from the database).
inline std::string UuidArray(const std::vector<std::string>& ids) {
    std::string out = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + ids[i];
    return out + "}";
}

// Writes `event` (a crm.fieldservice.events.v1 payload) to the outbox in tx, stamped with the tenant and the time of
// the change.
template <class Event>
void Emit(common::Outbox& outbox, pqxx::transaction_base& tx, const common::RequestContext& rc, const char* aggregate,
          const std::string& id, std::int64_t version, Event& event, const google::protobuf::Timestamp& at) {
    event.set_tenant_id(rc.tenant_id);
    *event.mutable_occurred_at() = at;
    outbox.Append(tx, rc, common::NewEvent{aggregate, id, version, event});
}

// Who calls: a technician acting on their own jobs only (the role technician without a role that sees all work), or
// someone who sees every work order of the tenant.
struct Actor {
    bool technician_only = false;
    std::string user_id;
};
Actor ActorOf(const common::RequestContext& rc);

}  // namespace crm::fieldservice
