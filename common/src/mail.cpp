#include "crm/common/mail.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>
#include <stdexcept>

#include "crm/common/crypto.hpp"
#include "crm/common/text.hpp"

namespace crm::common::mail {
namespace {

constexpr char kCrlf[] = "\r\n";

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

void RequireHeaderSafe(const std::string& value, const char* what) {
    if (HasLineBreak(value) || value.find('\0') != std::string::npos) {
        throw std::invalid_argument(std::string("line break or NUL in ") + what);
    }
}

bool IsAscii(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Standard base64 (RFC 2045), as the crypto helpers only have the URL alphabet.
std::string Base64(const std::string& bytes) {
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (i < bytes.size()) {
        unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// Base64 body wrapped at 76 characters per line (RFC 2045).
std::string Base64Body(const std::string& bytes) {
    const std::string b64 = Base64(bytes);
    std::string out;
    for (std::size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + kCrlf;
    return out;
}

// RFC 2047 encoded word(s) for a header value that is not plain ASCII; split so that no encoded word cuts a UTF-8
// sequence and each stays within 75 characters.
std::string EncodeWords(const std::string& value) {
    if (IsAscii(value)) return value;
    std::string out;
    std::size_t pos = 0;
    while (pos < value.size()) {
        std::size_t end = std::min(value.size(), pos + 45);
        while (end < value.size() && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
        if (!out.empty()) out += "\r\n ";
        out += "=?UTF-8?B?" + Base64(value.substr(pos, end - pos)) + "?=";
        pos = end;
    }
    return out;
}

std::string FormatAddress(const Address& a) {
    if (!IsDeliverableAddress(a.email)) throw std::invalid_argument("not a deliverable address");
    RequireHeaderSafe(a.display_name, "a display name");
    if (a.display_name.empty()) return "<" + a.email + ">";
    std::string name = a.display_name;
    if (IsAscii(name)) {
        std::string quoted = "\"";
        for (char c : name) {
            if (c == '"' || c == '\\') quoted += '\\';
            quoted += c;
        }
        return quoted + "\" <" + a.email + ">";
    }
    return EncodeWords(name) + " <" + a.email + ">";
}

bool IsToken(const std::string& name) {
    if (name.empty()) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

std::string RfcDate(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                  kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string Part(const char* type, const std::string& body) {
    return std::string("Content-Type: ") + type + "; charset=UTF-8" + kCrlf + "Content-Transfer-Encoding: base64" +
           kCrlf + kCrlf + Base64Body(body);
}

struct Upload {
    const std::string* data;
    std::size_t offset = 0;
};

std::size_t ReadChunk(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* up = static_cast<Upload*>(user);
    const std::size_t n = std::min(size * count, up->data->size() - up->offset);
    std::memcpy(buffer, up->data->data() + up->offset, n);
    up->offset += n;
    return n;
}

void GlobalInit() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

bool IsDeliverableAddress(const std::string& email) {
    if (email.empty() || email.size() > 254) return false;
    const std::size_t at = email.find('@');
    if (at == std::string::npos || at == 0 || at > 64 || email.find('@', at + 1) != std::string::npos) return false;
    const std::string domain = email.substr(at + 1);
    if (domain.size() < 3 || domain.find('.') == std::string::npos || domain.front() == '.' || domain.back() == '.' ||
        domain.find("..") != std::string::npos) {
        return false;
    }
    return std::all_of(email.begin(), email.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f && c != '"' && c != '<' && c != '>' && c != '(' && c != ')' && c != ',' &&
               c != ';' && c != ':' && c != '\\' && c != '[' && c != ']';
    });
}

std::string Build(const Message& m, std::chrono::system_clock::time_point date) {
    if (m.to.empty()) throw std::invalid_argument("no recipient");
    RequireHeaderSafe(m.subject, "the subject");
    RequireHeaderSafe(m.message_id, "the message id");
    std::string out;
    out += "From: " + FormatAddress(m.from) + kCrlf;
    std::string to;
    for (const auto& a : m.to) to += (to.empty() ? "" : ",\r\n ") + FormatAddress(a);
    out += "To: " + to + kCrlf;
    out += "Subject: " + EncodeWords(m.subject) + kCrlf;
    out += "Date: " + RfcDate(date) + kCrlf;
    const std::string domain = m.from.email.substr(m.from.email.find('@') + 1);
    out += "Message-ID: <" + (m.message_id.empty() ? NewUuid() + "@" + domain : m.message_id) + ">" + kCrlf;
    for (const auto& [name, value] : m.headers) {
        if (!IsToken(name)) throw std::invalid_argument("header name is not a token");
        RequireHeaderSafe(value, "a header value");
        out += name + ": " + EncodeWords(value) + kCrlf;
    }
    out += std::string("MIME-Version: 1.0") + kCrlf;
    if (m.html.empty()) {
        out += Part("text/plain", m.text);
        return out;
    }
    const std::string boundary = "crm-" + HexEncode(RandomBytes(12));
    out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"" + kCrlf + kCrlf;
    out += "--" + boundary + kCrlf + Part("text/plain", m.text);
    out += "--" + boundary + kCrlf + Part("text/html", m.html);
    out += "--" + boundary + "--" + kCrlf;
    return out;
}

Relay::Relay(RelaySettings settings) : settings_(std::move(settings)) { GlobalInit(); }

Result Relay::Send(const std::string& from, const std::vector<std::string>& recipients, const std::string& data) const {
    Result result;
    if (recipients.empty()) {
        result.outcome = Outcome::kPermanentFailure;
        result.detail = "no recipient";
        return result;
    }
    CURL* curl = curl_easy_init();
    if (!curl) {
        result.detail = "libcurl handle unavailable";
        return result;
    }
    curl_slist* rcpt = nullptr;
    for (const auto& r : recipients) rcpt = curl_slist_append(rcpt, ("<" + r + ">").c_str());
    Upload upload{&data};
    const std::string mail_from = "<" + from + ">";
    curl_easy_setopt(curl, CURLOPT_URL, settings_.url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadChunk);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<long>(settings_.timeout.count(), 5000)));
    if (settings_.require_tls) curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!settings_.username.empty()) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.username.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.password.c_str());
    }
    const CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    result.smtp_code = code;
    if (rc == CURLE_OK && code >= 200 && code < 300) {
        result.outcome = Outcome::kAccepted;
        return result;
    }
    result.detail = std::string(curl_easy_strerror(rc)) + (code ? " (SMTP " + std::to_string(code) + ")" : "");
    // A 5xx reply is the relay's final refusal (unknown mailbox, policy); anything else may pass later.
    result.outcome = code >= 500 && code < 600 ? Outcome::kPermanentFailure : Outcome::kTemporaryFailure;
    return result;
}

}  // namespace crm::common::mail
