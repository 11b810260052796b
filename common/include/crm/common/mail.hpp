#pragma once
// Outbound e-mail for every service that sends some (marketing sends campaigns, support answers cases): an RFC 5322
// message builder and a client of an SMTP relay (libcurl behind the .cpp). The builder refuses header injection (CR
// or LF in a header value), encodes non-ASCII headers as RFC 2047 encoded words and bodies as base64, so whatever a
// template produced cannot change the message's structure. The relay classifies the outcome the way a sender needs
// it: accepted, a temporary failure (4xx, connection refused, timeout: retry later with backoff) or a permanent one
// (5xx: record a bounce, never retry).
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace crm::common::mail {

struct Address {
    std::string email;         // local@domain, ASCII
    std::string display_name;  // may be UTF-8; encoded as needed
};

struct Message {
    Address from;
    std::vector<Address> to;
    std::string subject;     // UTF-8
    std::string text;        // text/plain part (UTF-8), required
    std::string html;        // text/html part (UTF-8), optional: then multipart/alternative
    std::string message_id;  // without <>: "<uuid>@<domain>"; generated when empty
    std::vector<std::pair<std::string, std::string>> headers;  // extra: In-Reply-To, References, List-Unsubscribe, ...
};

// The RFC 5322 bytes of the message (CRLF line ends). Throws std::invalid_argument for an unusable address, a header
// name that is not a token, or a CR/LF in any header value, name or address.
std::string Build(const Message& message, std::chrono::system_clock::time_point date);

// True for an address the builder and relay accept: one @, a non-empty ASCII local part and a dotted domain, no
// spaces, quotes, angle brackets or control characters, at most 254 characters.
bool IsDeliverableAddress(const std::string& email);

struct RelaySettings {
    std::string url = "smtp://127.0.0.1:1025";  // smtp:// or smtps://; STARTTLS with require_tls on smtp://
    std::string username;
    std::string password;
    bool require_tls = false;
    std::chrono::milliseconds timeout{10000};
};

enum class Outcome { kAccepted, kTemporaryFailure, kPermanentFailure };

struct Result {
    Outcome outcome = Outcome::kTemporaryFailure;
    long smtp_code = 0;  // the relay's last reply code, 0 when none came (no connection)
    std::string detail;  // for logs and bounce records: never message content
};

class Relay {
  public:
    explicit Relay(RelaySettings settings);
    // Sends `data` (built by Build) from envelope sender `from` to the envelope recipients. Thread-safe: one libcurl
    // handle per call.
    Result Send(const std::string& from, const std::vector<std::string>& recipients, const std::string& data) const;

  private:
    RelaySettings settings_;
};

}  // namespace crm::common::mail
