#pragma once
// Configuration documents of the service (scoring rules, the assignment configuration, web forms) are stored as the
// JSON form of their proto message (jsonb), read back leniently so that a field added later does not break old rows.
#include <google/protobuf/util/json_util.h>

#include <stdexcept>
#include <string>

namespace crm::leads {

inline std::string ToStoredJson(const google::protobuf::Message& message) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
        throw std::runtime_error("cannot serialize a stored document");
    }
    return out;
}

template <class M>
M FromStoredJson(const std::string& json) {
    M message;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(json, &message, options).ok()) {
        throw std::runtime_error("a stored document is not readable");
    }
    return message;
}

}  // namespace crm::leads
