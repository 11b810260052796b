#pragma once
// Inbound e-mail: an RFC 5322 message (RFC 2045-2047 MIME: multipart bodies, quoted-printable and base64, encoded-word
// headers, any charset iconv knows) read into what a case needs: ids for threading, the sender, the subject, the text
// in UTF-8 and the attachments' metadata. Pure: no I/O (charset conversion is glibc's iconv, in memory).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::support::domain {

inline constexpr std::size_t kMaxRawEmailBytes = 5 * 1024 * 1024;
inline constexpr std::size_t kMaxMimeParts = 100;
inline constexpr int kMaxMimeDepth = 8;

struct EmailAttachment {
    std::string file_name, content_type;
    std::int64_t size_bytes = 0;  // decoded
};

struct ParsedEmail {
    std::string message_id;               // without <>; empty when the message has none
    std::vector<std::string> references;  // In-Reply-To then References, without <>, most recent first
    std::string from_email;               // lowercased
    std::string from_name;                // UTF-8
    std::string subject;                  // UTF-8, "(no subject)" when empty
    std::string text;                     // UTF-8: text/plain preferred, else text/html as text; at most kMaxBody
    bool text_truncated = false;
    std::vector<EmailAttachment> attachments;
};

// Reads a raw message. Every problem is a violation on `field` (too large, no From address, a malformed header line,
// an unknown charset, bytes that are not valid in their charset, bad base64 or quoted-printable, a multipart body
// without a boundary or without its closing delimiter, too many parts); nullopt then.
std::optional<ParsedEmail> ParseEmail(std::string_view raw, const std::string& field, common::Violations& violations);

// bytes in `charset` as UTF-8; nullopt for an unknown charset or bytes invalid in it. "utf-8" and "us-ascii" are
// checked, not converted.
std::optional<std::string> ToUtf8(std::string_view bytes, std::string_view charset);

// The case number of a "[CS-<n>]" token in a subject (e.g. "Re: Printer [CS-42]"), if any.
std::optional<std::int64_t> CaseNumberInSubject(std::string_view subject);

}  // namespace crm::support::domain
