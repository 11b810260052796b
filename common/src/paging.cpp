#include "crm/common/paging.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"

namespace crm::common {
namespace {
constexpr int kTokenVersion = 1;

std::string ScopeFingerprint(std::string_view scope) { return HexEncode(Sha256(scope)).substr(0, 16); }

[[noreturn]] void BadToken(const std::string& why) {
    throw ApiError::InvalidArgument("page_token", why + "; pass the next_page_token of the previous page unchanged");
}
}  // namespace

int ResolvePageSize(long requested, int default_size, int max_size) {
    if (requested < 0) throw ApiError::InvalidArgument("page_size", "must not be negative");
    if (requested == 0) return default_size;
    return static_cast<int>(std::min<long>(requested, max_size));
}

std::string EncodePageToken(std::string_view scope, const std::vector<std::string>& keys) {
    nlohmann::json doc = nlohmann::json::array({kTokenVersion, ScopeFingerprint(scope)});
    for (const auto& k : keys) doc.push_back(k);
    return Base64UrlEncode(doc.dump());
}

std::vector<std::string> DecodePageToken(std::string_view token, std::string_view scope, size_t expected_keys) {
    if (token.empty()) return {};
    if (token.size() > 2048) BadToken("page token is too long");
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(Base64UrlDecode(token));
    } catch (const std::exception&) {
        BadToken("malformed page token");
    }
    if (!doc.is_array() || doc.size() != expected_keys + 2 || !doc[0].is_number_integer() || doc[0] != kTokenVersion ||
        !doc[1].is_string()) {
        BadToken("malformed page token");
    }
    if (doc[1].get<std::string>() != ScopeFingerprint(scope)) {
        BadToken("page token belongs to a different query (filters or ordering changed)");
    }
    std::vector<std::string> keys;
    for (size_t i = 2; i < doc.size(); ++i) {
        if (!doc[i].is_string()) BadToken("malformed page token");
        keys.push_back(doc[i].get<std::string>());
    }
    return keys;
}

void ValidateUpdateMask(const std::vector<std::string>& paths, const std::vector<std::string>& allowed,
                        bool allow_empty) {
    Violations v;
    if (paths.empty() && !allow_empty) v.Add("update_mask", "must name at least one field to update");
    std::set<std::string> seen;
    for (const auto& p : paths) {
        if (std::find(allowed.begin(), allowed.end(), p) == allowed.end()) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            v.Add("update_mask", "unknown or read-only path '" + p + "'; allowed: " + list);
        } else if (!seen.insert(p).second) {
            v.Add("update_mask", "path '" + p + "' given twice");
        }
    }
    v.ThrowIfAny();
}

}  // namespace crm::common
