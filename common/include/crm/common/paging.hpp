#pragma once
// List conventions (AIP-158): page_size 0 = default, negative = INVALID_ARGUMENT, capped at a maximum; page tokens
// are opaque to clients (base64url) and carry the keyset position of the last row plus a fingerprint of the query
// they belong to, so a token reused with other filters is refused instead of silently skipping rows.
#include <string>
#include <string_view>
#include <vector>

namespace crm::common {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// Throws ApiError INVALID_ARGUMENT (field "page_size") when negative; caps at max_size.
int ResolvePageSize(long requested, int default_size = kDefaultPageSize, int max_size = kMaxPageSize);

// scope: anything that identifies the query (method name and filters); keys: the keyset of the last row returned.
std::string EncodePageToken(std::string_view scope, const std::vector<std::string>& keys);
// Empty token -> empty vector. Throws ApiError INVALID_ARGUMENT (field "page_token") for a malformed token, a token
// of another query, or a token with a different number of keys than expected.
std::vector<std::string> DecodePageToken(std::string_view token, std::string_view scope, size_t expected_keys);

// Validates update_mask paths against the fields a method lets clients change. An empty mask is refused
// (field "update_mask") unless allow_empty. Duplicates are refused.
void ValidateUpdateMask(const std::vector<std::string>& paths, const std::vector<std::string>& allowed,
                        bool allow_empty = false);

}  // namespace crm::common
