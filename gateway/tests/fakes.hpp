#pragma once
// Test doubles shared by the gateway's unit tests: a rate limiter that records what it was asked and answers a
// decision the test sets, and HS256 tokens with the local issuer's claims.
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crm/common/crypto.hpp"
#include "limits/ratelimit.hpp"

namespace crm::gateway::testing {

class RecordingLimiter final : public RateLimiter {
  public:
    LimitDecision Check(const LimitQuery& query) override {
        std::lock_guard lock(mutex_);
        queries_.push_back(query);
        return next_;
    }
    bool Mark(const std::string&, std::chrono::seconds) override { return true; }

    // The decision every following Check answers (default: allowed).
    void SetNext(LimitDecision decision) {
        std::lock_guard lock(mutex_);
        next_ = std::move(decision);
    }
    std::vector<LimitQuery> Queries() const {
        std::lock_guard lock(mutex_);
        return queries_;
    }

  private:
    mutable std::mutex mutex_;
    LimitDecision next_;
    std::vector<LimitQuery> queries_;
};

// An HS256 JWT signed with `secret`: issuer crm-local, audience crm-api, subject user-1, tenant acme, role sales_rep,
// valid from 5 s ago for 300 s; `claims` replaces or adds claims.
inline std::string MintHs256(const std::string& secret, const nlohmann::json& claims = nlohmann::json::object()) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    nlohmann::json body{{"iss", "crm-local"},     {"aud", "crm-api"}, {"sub", "user-1"}, {"tenant", "acme"},
                        {"roles", {"sales_rep"}}, {"exp", now + 300}, {"nbf", now - 5},  {"iat", now - 5}};
    body.update(claims);
    const std::string input = crm::common::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                              crm::common::Base64UrlEncode(body.dump());
    return input + "." + crm::common::Base64UrlEncode(crm::common::HmacSha256(secret, input));
}

}  // namespace crm::gateway::testing
