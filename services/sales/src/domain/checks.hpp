#pragma once
// The sales API's limits on the kit's checks (crm/common/validate.hpp, resource.hpp), over plain values: each check
// adds violations naming `field` and never throws, so a handler collects every problem of a request before it looks
// anything up. Text fields refuse invalid UTF-8 and control characters (NUL included); names and reasons are single
// lines, descriptions and outcomes may break lines.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crm/common/validate.hpp"
#include "domain/dates.hpp"
#include "domain/decimal.hpp"
#include "domain/pipeline.hpp"

namespace crm::sales::domain {

// Names, titles, subjects and reasons: 1 to 200 characters on one line.
inline constexpr common::TextRule kNameRule{.max_chars = kMaxNameLength, .required = true};
// Descriptions and outcomes: at most 4000 characters, line breaks allowed.
inline constexpr common::TextRule kDescriptionRule{.max_chars = kMaxTextLength, .multiline = true};
// Owner ids (user ids of the identity provider) and campaign ids: opaque tokens of at most 128 characters.
inline constexpr std::size_t kMaxOwnerLength = 128;
// A product's stock keeping unit: an opaque token of at most 64 characters.
inline constexpr std::size_t kMaxSkuLength = 64;
// Lines of a quote.
inline constexpr std::size_t kMaxQuoteLines = 100;
// Quote line quantities: greater than 0, at most 1,000,000 (units at kQuantityScale).
inline constexpr std::int64_t kMaxQuantityUnits = 1'000'000'000;

// An optional UUID: "" stays "", anything else must be a UUID and comes back lowercased ("" and a violation if not).
std::string CheckOptionalId(common::Violations& v, std::string_view value, const std::string& field);

// A field the service assigns (a resource's id on create), which a client may echo back: ignored when well-formed,
// refused when it carries control characters or is longer than any id.
void CheckIgnoredToken(common::Violations& v, std::string_view value, std::string_view field);

// An etag sent by a client: empty, or one the service issued ("v<version>"); anything else is refused here instead of
// being compared (and reported as a concurrent change).
void CheckEtagSyntax(common::Violations& v, std::string_view etag, std::string_view field);

// A probability in whole percent, 0 to 100.
void CheckProbability(common::Violations& v, int value, std::string_view field);

// An optional calendar date "YYYY-MM-DD" (see ParseDate): "" passes as nullopt.
std::optional<Days> CheckDate(common::Violations& v, std::string_view value, std::string_view field);

// A percentage 0 to 100 in plain decimal notation with at most `scale` fraction digits; "" is 0. nullopt when refused.
std::optional<Fixed> CheckPercent(common::Violations& v, std::string_view value, int scale, std::string_view field);

// A quote line quantity: greater than 0, at most 1,000,000, at most 3 decimal places. nullopt when refused.
std::optional<Fixed> CheckQuantity(common::Violations& v, std::string_view value, std::string_view field);

// An amount in minor units whose currency may be left out (an update of an amount, a quote line's unit price: the
// currency is the stored one): the kit's money rule for the amount, an ISO 4217 code when a currency is given.
// Violations name "<field>.amount_minor" and "<field>.currency_code".
void CheckAmount(common::Violations& v, std::int64_t amount_minor, std::string_view currency, std::string_view field);

// An optional timestamp (seconds and nanos of google.protobuf.Timestamp): when present, within the suite's range
// (1900..2200, see common::CheckTime). True when absent or valid.
bool CheckOptionalTime(common::Violations& v, bool present, std::int64_t seconds, std::int32_t nanos,
                       std::string_view field);

}  // namespace crm::sales::domain
