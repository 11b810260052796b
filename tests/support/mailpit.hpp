#pragma once
// The local stack's SMTP server (Mailpit) as tests see it: what it received, read through its HTTP API
// (CRM_TEST_MAILPIT). Header-only.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "http_client.hpp"

namespace crm::test {

struct ReceivedMail {
    std::string id;
    std::string subject;
    std::vector<std::string> to;  // addresses
    std::string raw;              // the message as received (headers and body)
};

class Mailpit {
  public:
    Mailpit() {
        std::string base = RequireEnv("CRM_TEST_MAILPIT");
        const std::string scheme = "http://";
        address_ = base.rfind(scheme, 0) == 0 ? base.substr(scheme.size()) : base;
    }

    // Messages whose recipients include `to`, newest first (Mailpit's search syntax: to:"...").
    std::vector<ReceivedMail> To(const std::string& to) {
        const auto reply = Get("/api/v1/search?limit=500&query=" + Escape("to:\"" + to + "\""));
        std::vector<ReceivedMail> out;
        const auto j = nlohmann::json::parse(reply);
        for (const auto& m : j["messages"]) {
            ReceivedMail r;
            r.id = m["ID"].get<std::string>();
            r.subject = m.value("Subject", "");
            for (const auto& a : m["To"]) r.to.push_back(a["Address"].get<std::string>());
            r.raw = Get("/api/v1/message/" + r.id + "/raw");
            out.push_back(std::move(r));
        }
        return out;
    }

    // Waits until at least `count` messages to `to` arrived (or the timeout passed); returns what arrived.
    std::vector<ReceivedMail> WaitFor(const std::string& to, std::size_t count,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto got = To(to);
            if (got.size() >= count || std::chrono::steady_clock::now() > until) return got;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    std::string Get(const std::string& target) {
        HttpClient client(address_);
        const HttpReply r = client.Send("GET", target, {});
        if (r.status != 200) throw std::runtime_error("mailpit " + target + ": HTTP " + std::to_string(r.status));
        return r.body;
    }

  private:
    static std::string Escape(const std::string& s) {
        std::string out;
        for (unsigned char c : s) {
            if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
                out += static_cast<char>(c);
            } else {
                char buf[4];
                std::snprintf(buf, sizeof buf, "%%%02X", c);
                out += buf;
            }
        }
        return out;
    }
    std::string address_;
};

}  // namespace crm::test
