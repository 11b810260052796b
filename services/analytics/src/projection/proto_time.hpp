#pragma once
// Small conversions shared by the event adapters and the API (protobuf types, no I/O), and reading an event's payload.
#include <crm/common/v1/event.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <cctype>
#include <string>

#include "crm/common/crypto.hpp"
#include "domain/facts.hpp"
#include "projection/projector.hpp"

namespace crm::analytics::projection {

inline domain::Micros ToMicros(const google::protobuf::Timestamp& t) {
    return t.seconds() * 1000000 + t.nanos() / 1000;
}

inline google::protobuf::Timestamp ToTimestamp(domain::Micros micros) {
    google::protobuf::Timestamp t;
    int64_t seconds = micros / 1000000;
    int64_t rest = micros % 1000000;
    if (rest < 0) {
        rest += 1000000;
        seconds -= 1;
    }
    t.set_seconds(seconds);
    t.set_nanos(static_cast<int32_t>(rest * 1000));
    return t;
}

inline domain::Micros OccurredAt(const common::v1::EventEnvelope& env) { return ToMicros(env.occurred_at()); }

// A hyphenated UUID, lowercased; "" when the text is not one (the read models store ids as uuid).
inline std::string UuidOrEmpty(const std::string& s) {
    if (!common::IsUuid(s)) return "";
    std::string out = s;
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The payload of an event as M; UninterpretableEvent when it has none or holds another type.
template <class M>
M Unpack(const common::v1::EventEnvelope& env) {
    M message;
    if (env.payload().type_url().empty() || !env.payload().UnpackTo(&message)) {
        throw UninterpretableEvent("payload of " + env.event_type() + " cannot be read as " +
                                   std::string(M::descriptor()->full_name()));
    }
    return message;
}

}  // namespace crm::analytics::projection
