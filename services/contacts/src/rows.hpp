#pragma once
// How the areas' statements exchange values with PostgreSQL: times as microseconds since the epoch (bigint, the
// precision of timestamptz), string lists as JSON text (or array literals for uuid[]/text[] parameters), custom fields
// as JSON objects, and the single row an optimistic write returns. Includes pqxx and protobuf: application code only.
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "domain/types.hpp"

// clang-format off
// A timestamptz column as microseconds since the epoch, and a bigint parameter of microseconds as timestamptz.
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT_MICROS(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
// clang-format on

namespace crm::contacts::rows {

google::protobuf::Timestamp ToTimestamp(std::int64_t micros);
std::int64_t Micros(const google::protobuf::Timestamp& time);
domain::Timestamp ToDomainTime(const google::protobuf::Timestamp& time);

// A nullable CRM_MICROS column.
std::optional<google::protobuf::Timestamp> OptionalTime(const pqxx::field& field);

// A JSON array of strings (array_to_json(...)::text); NULL reads as empty.
std::vector<std::string> StringList(const pqxx::field& field);
// A JSON object (custom_fields::text); non-string values are kept as their JSON text.
domain::CustomFields FieldMap(const pqxx::field& field);

// Parameter encodings: a PostgreSQL array literal ({"a","b"}), a JSON array, a JSON object.
std::string ArrayLiteral(const std::vector<std::string>& values);
std::string JsonArray(const std::vector<std::string>& values);
std::string JsonObject(const domain::CustomFields& fields);

// The single row an optimistic write (UPDATE ... WHERE version = $expected RETURNING ...) returned; ABORTED (reason
// CONCURRENT_MODIFICATION) when it matched none because another transaction changed the resource first. `resource`
// names it in the message.
pqxx::row RequireWritten(const pqxx::result& rows, const std::string& resource);

}  // namespace crm::contacts::rows
