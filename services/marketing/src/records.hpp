#pragma once
// What every area's application code does the same way with its rows and events: stored times (microseconds since the
// epoch, as the statements return them) to and from the API's timestamps, money into crm.common.v1.Money, uuid[]
// parameters, and an event into the outbox. Include only from the areas' .cpp files: it pulls in pqxx and protobuf.
#include <crm/common/v1/types.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"

namespace crm::marketing {

inline std::int64_t Micros(const google::protobuf::Timestamp& t) {
    return google::protobuf::util::TimeUtil::TimestampToMicroseconds(t);
}
inline void SetTime(google::protobuf::Timestamp* out, const pqxx::field& micros) {
    *out = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros.as<std::int64_t>());
}
inline void SetMicros(google::protobuf::Timestamp* out, std::int64_t micros) {
    *out = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
}
inline std::int64_t NowMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline crm::common::v1::Money* SetMoney(crm::common::v1::Money* m, std::int64_t minor, const std::string& currency) {
    m->set_amount_minor(minor);
    m->set_currency_code(currency);
    return m;
}

// "{a,b}": a uuid[] or text[] statement parameter of values the service checked (UUIDs, tokens without commas,
// quotes or braces).
inline std::string PgArray(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
    return out + "}";
}

// Writes `event` (a crm.marketing.events.v1 payload) to the outbox in tx.
template <class Event>
void Emit(common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant, const std::string& request_id,
          const char* aggregate, const std::string& id, std::int64_t version, const Event& event) {
    outbox.Append(tx, tenant, request_id, common::NewEvent{aggregate, id, version, event});
}

}  // namespace crm::marketing
