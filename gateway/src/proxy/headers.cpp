#include "proxy/headers.hpp"

#include <algorithm>

#include "crm/common/crypto.hpp"

namespace crm::gateway {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool IsLowerHex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool AllZero(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

}  // namespace

Bearer ExtractBearer(const Metadata& client) {
    const std::string* value = nullptr;
    for (const auto& [k, v] : client) {
        if (k != kAuthorization) continue;
        if (value != nullptr) return {BearerError::kMalformed, {}};  // two credentials: refuse rather than guess
        value = &v;
    }
    if (value == nullptr) return {BearerError::kMissing, {}};
    std::string_view text = *value;
    constexpr std::string_view kScheme = "bearer";
    if (text.size() <= kScheme.size() || !EqualsIgnoreCase(text.substr(0, kScheme.size()), kScheme) ||
        text[kScheme.size()] != ' ') {
        return {BearerError::kMalformed, {}};
    }
    text.remove_prefix(kScheme.size());
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    if (text.empty() || text.find(' ') != std::string_view::npos) return {BearerError::kMalformed, {}};
    return {BearerError::kNone, std::string(text)};
}

std::string ChooseRequestId(const Metadata& client) {
    const std::string* found = nullptr;
    int count = 0;
    for (const auto& [k, v] : client) {
        if (k == kRequestIdHeader) {
            found = &v;
            ++count;
        }
    }
    if (count == 1 && common::IsValidRequestId(*found)) return *found;
    return common::NewUuid();
}

bool IsValidTraceparent(std::string_view v) {
    // version "00" has exactly 55 characters; later versions may append fields after another '-'.
    if (v.size() < 55 || v.size() > 256) return false;
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
    const std::string_view version = v.substr(0, 2), trace_id = v.substr(3, 32), parent_id = v.substr(36, 16),
                           flags = v.substr(53, 2);
    if (!IsLowerHex(version) || version == "ff") return false;
    if (!IsLowerHex(trace_id) || AllZero(trace_id) || !IsLowerHex(parent_id) || AllZero(parent_id)) return false;
    if (!IsLowerHex(flags)) return false;
    if (version == "00") return v.size() == 55;
    if (v.size() > 55 && v[55] != '-') return false;
    return std::all_of(v.begin(), v.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Metadata UpstreamMetadata(const Metadata& client, const common::Identity& identity, std::string_view internal_key,
                          std::chrono::system_clock::time_point now, std::string_view method) {
    Metadata out = common::SignIdentity(identity, method, internal_key, now);
    const std::string* traceparent = nullptr;
    int count = 0;
    for (const auto& [k, v] : client) {
        if (k == kTraceparent) {
            traceparent = &v;
            ++count;
        }
    }
    // Several traceparent headers are invalid per W3C: the trace restarts at the backend.
    if (count == 1 && IsValidTraceparent(*traceparent)) out.emplace_back(kTraceparent, *traceparent);
    return out;
}

Metadata ClientVisibleMetadata(const Metadata& backend) {
    static constexpr std::string_view kTransport[] = {
        "content-type", "te",      "user-agent",        "host",           "connection",
        "keep-alive",   "upgrade", "transfer-encoding", "content-length", kRequestIdHeader};
    Metadata out;
    for (const auto& [k, v] : backend) {
        if (k.empty() || k.front() == ':' || StartsWith(k, "grpc-") || StartsWith(k, "x-crm-")) continue;
        if (std::find(std::begin(kTransport), std::end(kTransport), k) != std::end(kTransport)) continue;
        out.emplace_back(k, v);
    }
    return out;
}

std::chrono::system_clock::time_point UpstreamDeadline(std::chrono::system_clock::time_point client_deadline,
                                                       std::chrono::system_clock::time_point now,
                                                       std::chrono::milliseconds fallback) {
    if (client_deadline == std::chrono::system_clock::time_point::max()) return now + fallback;
    return client_deadline;
}

}  // namespace crm::gateway
