#pragma once
// What every area's application code does the same way with its rows and events: stored times (microseconds since the
// epoch, as the statements return them) to and from the API's timestamps, money into crm.common.v1.Money, and an event
// into the outbox with the envelope fields every sales payload carries (tenant_id, occurred_at). Include only from the
// areas' .cpp files: it pulls in pqxx and the generated protos.
#include <crm/common/v1/types.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"

namespace crm::sales {

inline std::int64_t Micros(const google::protobuf::Timestamp& t) {
    return google::protobuf::util::TimeUtil::TimestampToMicroseconds(t);
}
inline std::string MicrosText(const google::protobuf::Timestamp& t) { return std::to_string(Micros(t)); }

inline void SetTime(google::protobuf::Timestamp* out, const pqxx::field& micros) {
    *out = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros.as<std::int64_t>());
}
// Sets the field only when the column is not NULL (optional times stay unset).
template <class M>
void SetTimeIf(M* message, google::protobuf::Timestamp* (M::*mutable_field)(), const pqxx::field& micros) {
    if (!micros.is_null()) SetTime((message->*mutable_field)(), micros);
}

// "{a,b}": a uuid[] statement parameter (the values are UUIDs the handlers checked, or ids read from the database).
inline std::string UuidArray(const std::vector<std::string>& ids) {
    std::string out = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + ids[i];
    return out + "}";
}

inline crm::common::v1::Money* SetMoney(crm::common::v1::Money* m, std::int64_t minor, const std::string& currency) {
    m->set_amount_minor(minor);
    m->set_currency_code(currency);
    return m;
}

// Writes `event` (a crm.sales.events.v1 payload) to the outbox in tx, stamped with the tenant and the time of the
// change; request_id is the caller's (empty for the schedulers).
template <class Event>
void Emit(common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant, const std::string& request_id,
          const char* aggregate, const std::string& id, std::int64_t version, Event& event,
          const google::protobuf::Timestamp& at) {
    event.set_tenant_id(tenant);
    *event.mutable_occurred_at() = at;
    outbox.Append(tx, tenant, request_id, common::NewEvent{aggregate, id, version, event});
}
template <class Event>
void Emit(common::Outbox& outbox, pqxx::transaction_base& tx, const common::RequestContext& rc, const char* aggregate,
          const std::string& id, std::int64_t version, Event& event, const google::protobuf::Timestamp& at) {
    Emit(outbox, tx, rc.tenant_id, rc.request_id, aggregate, id, version, event, at);
}

}  // namespace crm::sales
