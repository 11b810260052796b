// The kit's mail builder and SMTP relay client (common/include/crm/common/mail.hpp) against the local stack's real
// SMTP server (Mailpit): a message arrives with its headers intact, a hard bounce is a permanent failure, and a
// server that is down is a temporary one.
#include <catch2/catch.hpp>

#include "../support/harness.hpp"
#include "../support/mailpit.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/mail.hpp"

using namespace crm::test;
namespace mail = crm::common::mail;

namespace {
mail::Relay LocalRelay() {
    return mail::Relay({.url = "smtp://" + RequireEnv("CRM_TEST_SMTP"), .timeout = std::chrono::seconds(5)});
}
}  // namespace

TEST_CASE("mail relay: a message reaches the local SMTP server with its headers", "[integration][mail]") {
    const std::string to = "ada." + crm::common::NewUuid().substr(0, 8) + "@example.com";
    mail::Message m;
    m.from = {"news@acme.example", "Acme News"};
    m.to = {{to, "Ada Lovelace"}};
    m.subject = "Grüße, Ada";
    m.text = "Hello Ada";
    m.html = "<p>Hello <b>Ada</b></p>";
    m.headers = {{"List-Unsubscribe", "<https://crm.example/u/t0k3n>"},
                 {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}};
    const std::string raw = mail::Build(m, std::chrono::system_clock::now());
    const mail::Result r = LocalRelay().Send("news@acme.example", {to}, raw);
    INFO(r.detail);
    REQUIRE(r.outcome == mail::Outcome::kAccepted);

    Mailpit mailpit;
    const auto got = mailpit.WaitFor(to, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].subject == "Grüße, Ada");
    CHECK(got[0].to == std::vector<std::string>{to});
    CHECK(got[0].raw.find("List-Unsubscribe: <https://crm.example/u/t0k3n>") != std::string::npos);
    CHECK(got[0].raw.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click") != std::string::npos);
    CHECK(got[0].raw.find("multipart/alternative") != std::string::npos);
}

TEST_CASE("mail relay: a refused recipient is a permanent failure, a server that is down a temporary one",
          "[integration][mail]") {
    const std::string raw = mail::Build(
        {.from = {"news@acme.example", ""}, .to = {{"gone@bounce.invalid", ""}}, .subject = "x", .text = "x"},
        std::chrono::system_clock::now());
    const mail::Result bounced = LocalRelay().Send("news@acme.example", {"gone@bounce.invalid"}, raw);
    CHECK(bounced.outcome == mail::Outcome::kPermanentFailure);
    CHECK(bounced.smtp_code >= 500);

    StackCommandAtExit restart("smtp-start");
    StackCommand("smtp-stop");
    const mail::Result down = LocalRelay().Send("news@acme.example", {"ada@example.com"}, raw);
    CHECK(down.outcome == mail::Outcome::kTemporaryFailure);
}
