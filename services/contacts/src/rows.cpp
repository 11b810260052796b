#include "rows.hpp"

#include <google/protobuf/util/time_util.h>

#include <nlohmann/json.hpp>

#include "crm/common/errors.hpp"
#include "crm/common/pg_array.hpp"

namespace crm::contacts::rows {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToTimestamp(std::int64_t micros) { return TimeUtil::MicrosecondsToTimestamp(micros); }

std::int64_t Micros(const google::protobuf::Timestamp& time) { return TimeUtil::TimestampToMicroseconds(time); }

domain::Timestamp ToDomainTime(const google::protobuf::Timestamp& time) {
    return domain::Timestamp(std::chrono::microseconds(Micros(time)));
}

std::optional<google::protobuf::Timestamp> OptionalTime(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return ToTimestamp(field.as<std::int64_t>());
}

std::vector<std::string> StringList(const pqxx::field& field) {
    if (field.is_null()) return {};
    return nlohmann::json::parse(field.c_str()).get<std::vector<std::string>>();
}

domain::CustomFields FieldMap(const pqxx::field& field) {
    domain::CustomFields fields;
    const nlohmann::json object = nlohmann::json::parse(field.c_str());  // named: items() refers into it
    for (const auto& [key, value] : object.items()) {
        fields.emplace(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
    return fields;
}

std::string ArrayLiteral(const std::vector<std::string>& values) { return common::PgTextArray(values); }

std::string JsonArray(const std::vector<std::string>& values) { return nlohmann::json(values).dump(); }

std::string JsonObject(const domain::CustomFields& fields) { return nlohmann::json(fields).dump(); }

pqxx::row RequireWritten(const pqxx::result& rows, const std::string& resource) {
    if (rows.empty()) {
        throw common::ApiError::Aborted("the " + resource + " was changed concurrently; read it and retry",
                                        "CONCURRENT_MODIFICATION");
    }
    return rows[0];
}

}  // namespace crm::contacts::rows
