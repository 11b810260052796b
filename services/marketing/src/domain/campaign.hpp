#pragma once
// Pure rules of campaigns: the status life cycle, calendar dates, the campaign's one currency, and the UTM values of
// its tracked links. No gRPC, protobuf or database.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::marketing::domain {

enum class CampaignStatus { kPlanned, kActive, kCompleted, kAborted };

const char* StatusText(CampaignStatus status);  // "PLANNED", ... (the stored form)
std::optional<CampaignStatus> ParseStatus(std::string_view text);

// PLANNED → ACTIVE → COMPLETED; PLANNED or ACTIVE → ABORTED; a status to itself is no change. COMPLETED and ABORTED
// are final.
bool CanTransition(CampaignStatus from, CampaignStatus to);
bool IsFinal(CampaignStatus status);

// Campaign programs: at most this many levels (a campaign, its parent, ...).
inline constexpr int kMaxCampaignDepth = 5;

// "YYYY-MM-DD" (exactly, a real calendar day within 1900-01-01..2199-12-31) → days since 1970-01-01; nullopt else.
std::optional<std::int64_t> ParseDate(std::string_view text);
// Adds a violation on `field` for a non-empty value that ParseDate refuses (or an empty one when required).
std::optional<std::int64_t> CheckDate(common::Violations& violations, std::string_view value, std::string_view field,
                                      bool required = false);

// ---- UTM -----------------------------------------------------------------------------------------------------------

inline constexpr std::size_t kMaxUtmChars = 100;
inline constexpr std::size_t kMaxUrlChars = 2000;

// A UTM value as stored: lowercased; refuses (naming `field`) anything but [a-z0-9._-] after lowercasing, an empty
// value when required, and more than kMaxUtmChars characters. Returns the stored form ("" on a violation).
std::string CheckUtmValue(common::Violations& violations, std::string_view value, std::string_view field,
                          bool required);

// The utm_campaign generated from a campaign's name: ASCII letters and digits lowercased, every other run of
// characters one "-", no "-" at either end, cut to kMaxUtmChars; "campaign" when nothing is left.
std::string UtmSlug(std::string_view name);

// An absolute http:// or https:// URL with a host, without user information, spaces or control characters, at most
// kMaxUrlChars; else a violation on `field`.
bool CheckDestinationUrl(common::Violations& violations, std::string_view url, std::string_view field);

struct UtmParameters {
    std::string source;    // utm_source
    std::string medium;    // utm_medium (the channel)
    std::string campaign;  // utm_campaign
    std::string content;   // utm_content, optional
    std::string term;      // utm_term, optional
};

// `url` (checked by CheckDestinationUrl) with the UTM parameters in its query, before any fragment: existing utm_*
// parameters are dropped, other parameters kept in order, the UTM ones appended in the order source, medium,
// campaign, content, term (the empty optional ones left out).
std::string AppendUtm(std::string_view url, const UtmParameters& utm);

}  // namespace crm::marketing::domain
