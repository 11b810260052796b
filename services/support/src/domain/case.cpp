#include "domain/case.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <utility>

#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"

namespace crm::support::domain {
namespace {

template <class E, std::size_t N>
std::optional<E> Parse(const std::array<std::pair<E, const char*>, N>& table, std::string_view text) {
    for (const auto& [value, name] : table) {
        if (text == name) return value;
    }
    return std::nullopt;
}

template <class E, std::size_t N>
const char* Text(const std::array<std::pair<E, const char*>, N>& table, E value) {
    for (const auto& [v, name] : table) {
        if (v == value) return name;
    }
    return table[0].second;
}

constexpr std::array<std::pair<Status, const char*>, 7> kStatuses = {{{Status::kNew, "NEW"},
                                                                      {Status::kOpen, "OPEN"},
                                                                      {Status::kPendingCustomer, "PENDING_CUSTOMER"},
                                                                      {Status::kOnHold, "ON_HOLD"},
                                                                      {Status::kSolved, "SOLVED"},
                                                                      {Status::kClosed, "CLOSED"},
                                                                      {Status::kMerged, "MERGED"}}};
constexpr std::array<std::pair<Priority, const char*>, 4> kPriorities = {
    {{Priority::kLow, "LOW"}, {Priority::kNormal, "NORMAL"}, {Priority::kHigh, "HIGH"}, {Priority::kUrgent, "URGENT"}}};
constexpr std::array<std::pair<Channel, const char*>, 5> kChannels = {{{Channel::kApi, "API"},
                                                                       {Channel::kWeb, "WEB"},
                                                                       {Channel::kEmail, "EMAIL"},
                                                                       {Channel::kChat, "CHAT"},
                                                                       {Channel::kPhone, "PHONE"}}};
constexpr std::array<std::pair<MessageKind, const char*>, 3> kKinds = {
    {{MessageKind::kCustomerMessage, "CUSTOMER_MESSAGE"},
     {MessageKind::kPublicReply, "PUBLIC_REPLY"},
     {MessageKind::kInternalNote, "INTERNAL_NOTE"}}};

constexpr std::int64_t kMicrosPerDay = 86'400'000'000;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsAlpha(c) || (c >= '0' && c <= '9'); }

void CheckOptionalId(common::Violations& v, std::string& id, const std::string& field) {
    if (id.empty()) return;
    common::Violations local;
    id = common::CheckId(local, id, field);
    if (!local.empty()) v.Add(field, "must be a UUID (or empty)");
}

}  // namespace

const char* StatusText(Status status) { return Text(kStatuses, status); }
std::optional<Status> ParseStatus(std::string_view text) { return Parse(kStatuses, text); }
const char* PriorityText(Priority priority) { return Text(kPriorities, priority); }
std::optional<Priority> ParsePriority(std::string_view text) { return Parse(kPriorities, text); }
const char* ChannelText(Channel channel) { return Text(kChannels, channel); }
std::optional<Channel> ParseChannel(std::string_view text) { return Parse(kChannels, text); }
const char* MessageKindText(MessageKind kind) { return Text(kKinds, kind); }
std::optional<MessageKind> ParseMessageKind(std::string_view text) { return Parse(kKinds, text); }

bool TransitionAllowed(Status from, Status to) {
    if (from == to || to == Status::kMerged || to == Status::kNew) return false;
    switch (from) {
        case Status::kNew:
        case Status::kOpen:
        case Status::kPendingCustomer:
        case Status::kOnHold:
            return to != Status::kClosed;
        case Status::kSolved:
            return to == Status::kOpen || to == Status::kClosed;
        case Status::kClosed:
        case Status::kMerged:
            return false;
    }
    return false;
}

bool IsFinal(Status status) { return status == Status::kClosed || status == Status::kMerged; }

bool IsPaused(Status status) { return status == Status::kPendingCustomer || status == Status::kOnHold; }

bool ReopenAllowed(std::int64_t solve_micros, std::int64_t now_micros, int reopen_days) {
    return now_micros - solve_micros <= static_cast<std::int64_t>(reopen_days) * kMicrosPerDay;
}

MessageEffect EffectOfMessage(const CaseState& state, MessageKind kind, std::int64_t now_micros, int reopen_days) {
    MessageEffect e;
    auto refuse = [&](const char* reason, std::string message) {
        e.allowed = false;
        e.refusal_reason = reason;
        e.refusal_message = std::move(message);
        return e;
    };
    if (state.status == Status::kMerged) {
        return refuse("CASE_MERGED", "the case was merged into another case; add the entry there");
    }
    if (kind == MessageKind::kInternalNote) return e;  // notes change nothing, and are allowed on closed cases
    if (state.status == Status::kClosed) {
        return refuse("CASE_CLOSED", "the case is closed; only internal notes can be added (open a new case)");
    }
    if (kind == MessageKind::kPublicReply) {
        e.first_response = !state.has_first_response;
        if (state.status == Status::kNew) e.new_status = Status::kOpen;
        return e;
    }
    // A customer message.
    switch (state.status) {
        case Status::kPendingCustomer:
        case Status::kOnHold:
            e.new_status = Status::kOpen;
            break;
        case Status::kSolved:
            if (!state.solve_micros || !ReopenAllowed(*state.solve_micros, now_micros, reopen_days)) {
                return refuse("REOPEN_WINDOW_PASSED", "the case was solved more than " + std::to_string(reopen_days) +
                                                          " days ago and cannot be reopened; open a new case");
            }
            e.new_status = Status::kOpen;
            e.reopened = true;
            break;
        default:
            break;
    }
    return e;
}

bool IsKey(std::string_view key) {
    if (key.empty() || key.size() > 63 || key[0] < 'a' || key[0] > 'z') return false;
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool IsLanguageTag(std::string_view tag) {
    if (tag.empty() || tag.size() > kMaxLanguage) return false;
    std::size_t start = 0;
    bool first = true;
    while (start <= tag.size()) {
        const std::size_t end = std::min(tag.find('-', start), tag.size());
        const std::string_view part = tag.substr(start, end - start);
        if (first) {
            if (part.size() < 2 || part.size() > 3 || !std::all_of(part.begin(), part.end(), IsAlpha)) return false;
        } else if (part.empty() || part.size() > 8 || !std::all_of(part.begin(), part.end(), IsAlnum)) {
            return false;
        }
        first = false;
        if (end == tag.size()) break;
        start = end + 1;
    }
    return true;
}

std::string CanonicalLanguageTag(std::string_view tag) {
    // Language lowercase, a 2-letter region uppercase, a 4-letter script titlecase, anything else lowercase.
    std::string out;
    std::size_t start = 0;
    bool first = true;
    while (start <= tag.size()) {
        const std::size_t end = std::min(tag.find('-', start), tag.size());
        std::string part(tag.substr(start, end - start));
        for (auto& c : part) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!first && part.size() == 2 && IsAlpha(part[0]) && IsAlpha(part[1])) {
            for (auto& c : part) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        } else if (!first && part.size() == 4 && std::all_of(part.begin(), part.end(), IsAlpha)) {
            part[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(part[0])));
        }
        out += (first ? "" : "-") + part;
        first = false;
        if (end == tag.size()) break;
        start = end + 1;
    }
    return out;
}

void CheckEtagSyntax(common::Violations& violations, std::string_view etag, const std::string& field) {
    if (!etag.empty() && !common::ParseEtag(etag)) {
        violations.Add(field, "is not an etag this service issued: send back the etag of the last read, or none");
    }
}

std::string CaseReference(std::int64_t number) { return "CS-" + std::to_string(number); }

common::Violations NormalizeCase(CaseFields& f, const std::string& prefix, bool require_subject) {
    common::Violations v;
    f.subject = common::text::Trim(f.subject);
    common::CheckText(v, f.subject, prefix + "subject", {.max_chars = kMaxSubject, .required = require_subject});
    common::CheckText(v, f.description, prefix + "description", {.max_chars = kMaxDescription, .multiline = true});
    f.contact_id = common::text::Trim(f.contact_id);
    f.company_id = common::text::Trim(f.company_id);
    if (common::CheckText(v, f.contact_id, prefix + "contact_id", {.max_chars = 64})) {
        CheckOptionalId(v, f.contact_id, prefix + "contact_id");
    }
    if (common::CheckText(v, f.company_id, prefix + "company_id", {.max_chars = 64})) {
        CheckOptionalId(v, f.company_id, prefix + "company_id");
    }
    f.product = common::text::Trim(f.product);
    common::CheckText(v, f.product, prefix + "product", {.max_chars = kMaxShortText});
    common::CheckToken(v, f.asset_id, prefix + "asset_id", kMaxAssetId);
    f.category = common::text::Trim(f.category);
    common::CheckText(v, f.category, prefix + "category", {.max_chars = kMaxShortText});
    f.language = common::text::Trim(f.language);
    if (common::CheckText(v, f.language, prefix + "language", {.max_chars = kMaxLanguage}) && !f.language.empty()) {
        if (IsLanguageTag(f.language)) {
            f.language = CanonicalLanguageTag(f.language);
        } else {
            v.Add(prefix + "language", "must be a BCP 47 language tag such as \"en\" or \"de-CH\"");
        }
    }
    f.customer_tier = common::text::AsciiLower(common::text::Trim(f.customer_tier));
    if (common::CheckText(v, f.customer_tier, prefix + "customer_tier", {.max_chars = 63}) &&
        !f.customer_tier.empty() && !IsKey(f.customer_tier)) {
        v.Add(prefix + "customer_tier", "must match [a-z][a-z0-9_]{0,62}");
    }
    common::CheckListSize(v, f.tags.size(), prefix + "tags", kMaxTags);
    std::set<std::string> tags;
    for (std::size_t i = 0; i < f.tags.size(); ++i) {
        const std::string field = prefix + "tags[" + std::to_string(i) + "]";
        const std::string tag = common::text::AsciiLower(common::text::CollapseWhitespace(f.tags[i]));
        if (common::CheckText(v, tag, field, {.max_chars = kMaxTag, .required = true})) tags.insert(tag);
    }
    f.tags.assign(tags.begin(), tags.end());
    common::CheckListSize(v, f.custom_fields.size(), prefix + "custom_fields", kMaxCustomFields);
    for (const auto& [key, value] : f.custom_fields) {
        const bool key_ok = IsKey(key);
        if (!key_ok) v.Add(prefix + "custom_fields", "every key must match [a-z][a-z0-9_]{0,62}");
        common::CheckText(v, value, prefix + "custom_fields." + (key_ok ? key : std::string("<key>")),
                          {.max_chars = kMaxCustomValue});
    }
    return v;
}

common::Violations NormalizeMessage(MessageFields& f, const std::string& prefix) {
    common::Violations v;
    f.author_name = common::text::Trim(f.author_name);
    common::CheckText(v, f.author_name, prefix + "author_name", {.max_chars = kMaxShortText});
    common::CheckText(v, f.body, prefix + "body", {.max_chars = kMaxBody, .multiline = true});
    common::CheckToken(v, f.external_id, prefix + "external_id", kMaxExternalId);
    common::CheckListSize(v, f.attachments.size(), prefix + "attachments", kMaxAttachments);
    for (std::size_t i = 0; i < f.attachments.size(); ++i) {
        const std::string p = prefix + "attachments[" + std::to_string(i) + "].";
        const AttachmentFields& a = f.attachments[i];
        if (common::CheckText(v, a.file_name, p + "file_name", {.max_chars = kMaxFileName, .required = true}) &&
            (a.file_name.find('/') != std::string::npos || a.file_name.find('\\') != std::string::npos ||
             a.file_name == "." || a.file_name == "..")) {
            v.Add(p + "file_name", "a file name, without path separators");
        }
        common::CheckToken(v, a.content_type, p + "content_type", kMaxContentType);
        common::CheckToken(v, a.storage_ref, p + "storage_ref", kMaxRef);
        if (a.size_bytes < 0 || a.size_bytes > kMaxAttachmentBytes) {
            v.Add(p + "size_bytes", "must be 0.." + std::to_string(kMaxAttachmentBytes));
        }
    }
    if (f.phone_call) {
        const PhoneCallFields& c = *f.phone_call;
        const std::string p = prefix + "phone_call.";
        common::CheckToken(v, c.external_call_id, p + "external_call_id", kMaxAssetId);
        common::CheckToken(v, c.from_number, p + "from_number", kMaxPhoneNumber);
        common::CheckToken(v, c.to_number, p + "to_number", kMaxPhoneNumber);
        common::CheckToken(v, c.recording_ref, p + "recording_ref", kMaxRef);
        if (c.duration_seconds < 0 || c.duration_seconds > kMaxCallSeconds) {
            v.Add(p + "duration_seconds", "must be 0.." + std::to_string(kMaxCallSeconds));
        }
    }
    if (common::text::Trim(f.body).empty() && f.attachments.empty() && !f.phone_call && !v.Has(prefix + "body")) {
        v.Add(prefix + "body", "required: a message needs a body, an attachment or a phone call");
    }
    return v;
}

}  // namespace crm::support::domain
