#pragma once
// Pure rules of a case: the status lifecycle (with the reopen window), priorities, what a conversation entry does to
// its case, and the validation and normalization of a case's and a message's fields. No gRPC, protobuf or database
// here, so all of it is unit-tested without I/O.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::support::domain {

// --- lifecycle ----------------------------------------------------------------------------------------------------
enum class Status { kNew, kOpen, kPendingCustomer, kOnHold, kSolved, kClosed, kMerged };
const char* StatusText(Status status);  // "NEW", "OPEN", "PENDING_CUSTOMER", ...
std::optional<Status> ParseStatus(std::string_view text);
// Whether ChangeCaseStatus may move from -> to (MERGED is never a target there; SOLVED -> OPEN is a reopen and also
// needs ReopenAllowed).
bool TransitionAllowed(Status from, Status to);
// CLOSED and MERGED cases take no change but internal notes (CLOSED) or nothing (MERGED).
bool IsFinal(Status status);
// The SLA clock does not run in these statuses.
bool IsPaused(Status status);

// A solved case may be reopened until reopen_days after its solve time (both in microseconds since the epoch).
bool ReopenAllowed(std::int64_t solve_micros, std::int64_t now_micros, int reopen_days);

enum class Priority { kLow, kNormal, kHigh, kUrgent };
const char* PriorityText(Priority priority);  // "LOW", "NORMAL", "HIGH", "URGENT"
std::optional<Priority> ParsePriority(std::string_view text);

enum class Channel { kApi, kWeb, kEmail, kChat, kPhone };
const char* ChannelText(Channel channel);  // "API", "WEB", ...
std::optional<Channel> ParseChannel(std::string_view text);

// --- conversation ---------------------------------------------------------------------------------------------------
enum class MessageKind { kCustomerMessage, kPublicReply, kInternalNote };
const char* MessageKindText(MessageKind kind);  // "CUSTOMER_MESSAGE", "PUBLIC_REPLY", "INTERNAL_NOTE"
std::optional<MessageKind> ParseMessageKind(std::string_view text);

// What adding an entry does to its case, or why it cannot be added.
struct MessageEffect {
    bool allowed = true;
    std::string refusal_reason;   // ErrorInfo reason when not allowed (CASE_CLOSED, CASE_MERGED, REOPEN_WINDOW_PASSED)
    std::string refusal_message;  // for the client
    std::optional<Status> new_status;  // the case's status after the entry, when it changes
    bool first_response = false;       // the entry sets first_response_time
    bool reopened = false;             // a SOLVED case goes back to OPEN
};
struct CaseState {
    Status status = Status::kNew;
    bool has_first_response = false;
    std::optional<std::int64_t> solve_micros;
};
MessageEffect EffectOfMessage(const CaseState& state, MessageKind kind, std::int64_t now_micros, int reopen_days);

// --- fields ---------------------------------------------------------------------------------------------------------
inline constexpr std::size_t kMaxSubject = 500;
inline constexpr std::size_t kMaxDescription = 20000;
inline constexpr std::size_t kMaxShortText = 200;  // product, category, author_name
inline constexpr std::size_t kMaxAssetId = 128;
inline constexpr std::size_t kMaxUserId = 128;
inline constexpr std::size_t kMaxLanguage = 35;
inline constexpr std::size_t kMaxTags = 20;
inline constexpr std::size_t kMaxTag = 50;
inline constexpr std::size_t kMaxCustomFields = 50;
inline constexpr std::size_t kMaxCustomValue = 500;
inline constexpr std::size_t kMaxStatusReason = 500;
inline constexpr std::size_t kMaxBody = 100000;
inline constexpr std::size_t kMaxAttachments = 20;
inline constexpr std::size_t kMaxFileName = 255;
inline constexpr std::size_t kMaxContentType = 127;
inline constexpr std::int64_t kMaxAttachmentBytes = 100'000'000;
inline constexpr std::size_t kMaxRef = 1000;
inline constexpr std::size_t kMaxExternalId = 998;  // an email Message-ID header line at most
inline constexpr std::size_t kMaxPhoneNumber = 64;
inline constexpr int kMaxCallSeconds = 86400;

// The client-settable values of a case (ids already lowercased by the caller when they are UUIDs).
struct CaseFields {
    std::string subject, description, contact_id, company_id, product, asset_id, category, language, customer_tier;
    std::vector<std::string> tags;
    std::map<std::string, std::string> custom_fields;
};

// Trims and normalizes in place (tags lowercased, sorted and deduplicated; customer_tier lowercased; language in
// its canonical case "de-CH") and returns every violation, each prefixed with `prefix` ("case."). require_subject:
// a create (the subject is required). Ids are checked as UUIDs when non-empty.
common::Violations NormalizeCase(CaseFields& fields, const std::string& prefix, bool require_subject);

struct AttachmentFields {
    std::string file_name, content_type, storage_ref;
    std::int64_t size_bytes = 0;
};
struct PhoneCallFields {
    std::string external_call_id, from_number, to_number, recording_ref;
    int duration_seconds = 0;
};
struct MessageFields {
    std::string author_name, body, external_id;
    std::vector<AttachmentFields> attachments;
    std::optional<PhoneCallFields> phone_call;
};
// Trims author_name and returns every violation prefixed with `prefix` ("message."): a message needs a body, an
// attachment or a phone call.
common::Violations NormalizeMessage(MessageFields& fields, const std::string& prefix);

bool IsKey(std::string_view key);          // [a-z][a-z0-9_]{0,62}
bool IsLanguageTag(std::string_view tag);  // BCP 47 shape: 2-3 letters, then subtags of 1-8 letters/digits
std::string CanonicalLanguageTag(std::string_view tag);  // "EN-gb" -> "en-GB"
// A request's etag: empty, or one this service issued ("v<version>"); else a violation on `field`.
void CheckEtagSyntax(common::Violations& violations, std::string_view etag, const std::string& field);
// "CS-<number>", the case reference customers see (and the token in email subjects).
std::string CaseReference(std::int64_t number);

}  // namespace crm::support::domain
