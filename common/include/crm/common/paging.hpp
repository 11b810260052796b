#pragma once
// List conventions (AIP-158): page_size 0 = default, negative = INVALID_ARGUMENT, capped at a maximum; page tokens
// are opaque to clients. A token carries the keyset position of the last row returned, and is signed (HMAC-SHA256
// under the page-token key, which the bootstrap derives from CRM_INTERNAL_KEY so that every replica accepts every
// other's tokens) over the tenant and the query it belongs to (scope: method, filters, order). A token altered by
// hand, issued to another tenant, or reused with other filters is refused with INVALID_ARGUMENT (field "page_token")
// instead of silently skipping or leaking rows.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crm::common {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// Throws ApiError INVALID_ARGUMENT (field "page_size") when negative; caps at max_size.
int ResolvePageSize(long requested, int default_size = kDefaultPageSize, int max_size = kMaxPageSize);

// Installs the signing key (at start-up; until then a random per-process key is used).
void SetPageTokenKey(std::string_view key);

// scope: anything that identifies the query (method name, filters, order); keys: the keyset of the last row returned.
std::string EncodePageToken(std::string_view tenant, std::string_view scope, const std::vector<std::string>& keys);
// Empty token -> empty vector. Throws ApiError INVALID_ARGUMENT (field "page_token") for a malformed or altered
// token, a token of another tenant or query, or one with another number of keys than expected.
std::vector<std::string> DecodePageToken(std::string_view token, std::string_view tenant, std::string_view scope,
                                         std::size_t expected_keys);

// The keyset most lists use: (a time in microseconds since the epoch, a UUID).
struct TimeIdKey {
    std::int64_t micros = 0;
    std::string id;
    bool operator==(const TimeIdKey&) const = default;
};
enum class SortOrder { kAscending, kDescending };

// The position a page starts after: the token's, or for an empty token the start of the order (before every row:
// 0001-01-01 and the nil UUID ascending, 9999-12-31 and the max UUID descending).
TimeIdKey DecodeTimeIdToken(std::string_view token, std::string_view tenant, std::string_view scope, SortOrder order);
std::string EncodeTimeIdToken(std::string_view tenant, std::string_view scope, const TimeIdKey& key);

template <class T>
struct Page {
    std::vector<T> items;
    std::string next_page_token;  // empty on the last page
};

// Turns the `limit + 1` rows a keyset query fetched into a page: the extra row, if any, is dropped and
// token_of(last kept item) becomes the next page token.
template <class T, class TokenFn>
Page<T> MakePage(std::vector<T> items, int limit, TokenFn&& token_of) {
    Page<T> page;
    if (limit >= 0 && items.size() > static_cast<std::size_t>(limit)) {
        items.resize(static_cast<std::size_t>(limit));
        if (!items.empty()) page.next_page_token = token_of(items.back());
    }
    page.items = std::move(items);
    return page;
}

// Validates update_mask paths against the fields a method lets clients change. An empty mask is refused
// (field "update_mask") unless allow_empty. Duplicates are refused.
void ValidateUpdateMask(const std::vector<std::string>& paths, const std::vector<std::string>& allowed,
                        bool allow_empty = false);

class Violations;

// The paths an update changes: every allowed path for the mask "*"; the mask's own paths when given (checked as
// ValidateUpdateMask checks them; problems go into `violations`, with the fields' own, and nothing is returned);
// without a mask, the allowed paths whose field the request sets (`is_set`), none of them being "nothing to update".
std::vector<std::string> ResolveUpdatePaths(Violations& violations, const std::vector<std::string>& mask_paths,
                                            const std::vector<std::string>& allowed,
                                            const std::function<bool(const std::string&)>& is_set);

}  // namespace crm::common
