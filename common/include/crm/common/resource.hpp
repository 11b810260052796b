#pragma once
// Conventions every resource-oriented API shares (AIP-154 etags, UUID ids, idempotency keys), so that each service
// checks them the same way and reports the same field violations.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crm/common/errors.hpp"

namespace crm::common {

inline constexpr std::size_t kMaxRequestIdLength = 64;

// Etags are "v<version>"; ParseEtag returns nullopt for anything else (a client-made or truncated etag).
std::string MakeEtag(std::int64_t version);
std::optional<std::int64_t> ParseEtag(std::string_view etag);
// Optimistic concurrency: throws ApiError ABORTED (reason ETAG_MISMATCH) when a non-empty etag from the client is not
// the resource's current one; an empty etag means "whatever the current version is".
void CheckEtag(std::string_view expected, std::int64_t current_version);

// A required resource id: a UUID (either case), returned lowercased; otherwise a violation on `field` and "".
std::string CheckId(Violations& violations, std::string_view value, const std::string& field);

// An optional idempotency key (field "request_id"): empty, or 1..64 printable ASCII characters without spaces.
void CheckRequestId(Violations& violations, std::string_view value);

}  // namespace crm::common
