// Email sends through the gateway to the local SMTP server (Mailpit): only people whose consent allows it get a
// message (not the unsubscribed, the erased, the hard-bounced or those without consent), with merge fields escaped,
// tracked links and RFC 8058 one-click unsubscribe headers; a click through the public link route is a touch and an
// EmailClicked, an unsubscribe suppresses the address; temporary SMTP failures are retried; and a crash between the
// relay's acceptance and the record of it never produces a second message.
#include <crm/marketing/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/http_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/marketing_client.hpp"
#include "../support/wait.hpp"
#include "crm/common/public_token.hpp"
#include "crm/common/sealed_columns.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace mev = crm::marketing::events::v1;

namespace {

std::string Unique(const std::string& prefix, const std::string& domain = "example.com") {
    return prefix + "." + crm::common::NewUuid().substr(0, 8) + "@" + domain;
}

// A contact with the given consent, present in marketing's audience with it.
cv1::Contact Person(ContactsClient& contacts, MarketingClient& api, const std::string& given, const std::string& email,
                    cv1::ConsentStatus consent) {
    cv1::Contact c = contacts.MustCreate(given, "Tester", email);
    if (consent != cv1::CONSENT_STATUS_UNKNOWN) {
        cv1::UpdateContactConsentRequest req;
        req.set_id(c.id());
        req.set_status(consent);
        req.set_source("web_form");
        REQUIRE(contacts.UpdateContactConsent(req).ok());
    }
    const std::string expected = consent == cv1::CONSENT_STATUS_OPTED_IN    ? "opted_in"
                                 : consent == cv1::CONSENT_STATUS_OPTED_OUT ? "opted_out"
                                                                            : "unknown";
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(c.id());
        auto r = api.GetAudienceMember(get);
        return r.ok() && r.response.member().consent() == expected;
    }));
    return c;
}

struct Setup {
    mv1::Campaign campaign;
    mv1::EmailTemplate tmpl;
};

Setup MakeCampaign(MarketingClient& api) {
    Setup s;
    s.campaign = api.MustCreateCampaign("Spring newsletter");
    mv1::CreateEmailTemplateRequest t;
    t.mutable_template_()->set_name("Newsletter");
    t.mutable_template_()->set_subject("News for {{contact.given_name | default:\"you\"}}");
    t.mutable_template_()->set_html_body(
        "<p>Hi {{contact.given_name | default:\"there\"}},</p><p><a href=\"https://example.com/offer\">Offer</a></p>"
        "<p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>");
    t.mutable_template_()->set_text_body("Hi {{contact.given_name}}. Unsubscribe: {{unsubscribe_url}}");
    auto created = api.CreateEmailTemplate(t);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    s.tmpl = created.response.template_();
    return s;
}

mv1::Segment ListOf(MarketingClient& api, const std::vector<std::string>& ids) {
    mv1::CreateSegmentRequest create;
    create.mutable_segment()->set_name("Recipients");
    create.mutable_segment()->set_type(mv1::SEGMENT_TYPE_STATIC);
    auto list = api.CreateSegment(create);
    REQUIRE(list.ok());
    mv1::AddSegmentMembersRequest add;
    add.set_segment_id(list.response.segment().id());
    for (const auto& id : ids) add.add_person_ids(id);
    REQUIRE(api.AddSegmentMembers(add).ok());
    return list.response.segment();
}

mv1::EmailSend SendAndWait(MarketingClient& api, const Setup& s, const std::string& segment,
                           std::chrono::milliseconds timeout = 30s) {
    mv1::CreateEmailSendRequest req;
    req.mutable_send()->set_campaign_id(s.campaign.id());
    req.mutable_send()->set_template_id(s.tmpl.id());
    req.mutable_send()->set_segment_id(segment);
    auto created = api.CreateEmailSend(req);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    mv1::EmailSend send;
    REQUIRE(Eventually(
        [&] {
            mv1::GetEmailSendRequest get;
            get.set_id(created.response.send().id());
            auto r = api.GetEmailSend(get);
            send = r.response.send();
            return r.ok() && send.status() == mv1::EMAIL_SEND_STATUS_COMPLETED;
        },
        timeout));
    return send;
}

std::string Between(const std::string& text, const std::string& start, char end) {
    const std::size_t at = text.find(start);
    if (at == std::string::npos) return "";
    const std::size_t from = at + start.size();
    return text.substr(from, text.find(end, from) - from);
}

HttpReply Http(const std::string& method, const std::string& target, const std::string& body = {},
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    return client.Send(method, target, headers, body);
}

}  // namespace

TEST_CASE(
    "marketing email: only consenting people get the message, with escaped merge fields, tracked links and "
    "one-click unsubscribe - clicks and unsubscribes are recorded",
    "[integration][marketing][email]") {
    const std::string tenant = UniqueTenant("me");
    const std::string token = TokenFor(tenant, {"admin"});
    ContactsClient contacts(token);
    MarketingClient api(token);
    const std::string ada_email = Unique("ada"), out_email = Unique("out"), unknown_email = Unique("unknown");
    const std::string bounce_email = Unique("gone", "bounce.invalid"), erased_email = Unique("erased");
    const cv1::Contact ada = Person(contacts, api, "<b>Ada</b>", ada_email, cv1::CONSENT_STATUS_OPTED_IN);
    const cv1::Contact out = Person(contacts, api, "Out", out_email, cv1::CONSENT_STATUS_OPTED_OUT);
    const cv1::Contact unknown = Person(contacts, api, "Unknown", unknown_email, cv1::CONSENT_STATUS_UNKNOWN);
    const cv1::Contact bounce = Person(contacts, api, "Gone", bounce_email, cv1::CONSENT_STATUS_OPTED_IN);
    const cv1::Contact erased = Person(contacts, api, "Erased", erased_email, cv1::CONSENT_STATUS_OPTED_IN);
    const mv1::Segment list = ListOf(api, {ada.id(), out.id(), unknown.id(), bounce.id(), erased.id()});
    cv1::EraseContactRequest erase;
    erase.set_id(erased.id());
    REQUIRE(contacts.EraseContact(erase).ok());
    REQUIRE(Eventually([&] {
        mv1::GetSegmentRequest get;
        get.set_id(list.id());
        return api.GetSegment(get).response.segment().member_count() == 4;
    }));
    mv1::UpdateEmailSettingsRequest settings;
    settings.mutable_settings()->set_from_email("News@Acme.example");
    settings.mutable_settings()->set_from_name("Acme News");
    settings.mutable_update_mask()->add_paths("from_email");
    settings.mutable_update_mask()->add_paths("from_name");
    auto set = api.UpdateEmailSettings(settings);
    REQUIRE(set.ok());
    CHECK(set.response.settings().from_email() == "news@acme.example");

    const Setup s = MakeCampaign(api);
    EventTap tap("crm.marketing.v1");
    const mv1::EmailSend send = SendAndWait(api, s, list.id());
    CHECK(send.recipients() == 2);  // Ada and the address that bounces
    CHECK(send.skipped() == 2);     // opted out, unknown consent
    CHECK(send.sent() == 1);
    CHECK(send.bounced() == 1);
    CHECK(send.unconfirmed() == 0);

    Mailpit mailpit;
    const auto got = mailpit.WaitFor(ada_email, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].subject == "News for <b>Ada</b>");  // the subject is text: nothing to escape, nothing to inject
    for (const auto& other : {out_email, unknown_email, bounce_email, erased_email}) CHECK(mailpit.To(other).empty());
    const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + got[0].id));
    const std::string html = message["HTML"].get<std::string>();
    CHECK(html.find("Hi &lt;b&gt;Ada&lt;/b&gt;,") != std::string::npos);
    CHECK(html.find("https://example.com/offer") == std::string::npos);  // the link is tracked
    CHECK(message["From"]["Address"] == "news@acme.example");
    const auto headers = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + got[0].id + "/headers"));
    const std::string unsubscribe_header = headers["List-Unsubscribe"][0].get<std::string>();
    CHECK(headers["List-Unsubscribe-Post"][0] == "List-Unsubscribe=One-Click");
    const std::string unsubscribe_path = "/u/" + Between(unsubscribe_header, "/u/", '>');
    REQUIRE(unsubscribe_path.size() > 10);
    CHECK(message["Text"].get<std::string>().find(unsubscribe_path) != std::string::npos);
    const std::string click_path = "/r/" + Between(html, "/r/", '"');
    REQUIRE(click_path.size() > 10);

    // The hard bounce suppressed the address; the events name ids only.
    CHECK(QueryScalar("marketing",
                      "SELECT reason FROM suppressions WHERE tenant_id = '" + tenant + "' AND address_key = '" +
                          crm::common::ColumnIndex(tenant, "audience.email", bounce_email) + "'") == "hard_bounce");
    const auto sent_events = tap.WaitFor(tenant, 2, 20s);
    std::set<std::string> types;
    for (const auto& e : sent_events) types.insert(e.envelope.event_type());
    CHECK(types == std::set<std::string>{"crm.marketing.events.v1.EmailSent", "crm.marketing.events.v1.EmailBounced"});

    // A click through the gateway's public route: 302 to the destination with the UTM parameters, a touch.
    EventTap clicks("crm.marketing.v1");
    const HttpReply redirect = Http("GET", click_path);
    INFO(redirect.body);
    REQUIRE(redirect.status == 302);
    CHECK(redirect.Header("location") ==
          "https://example.com/offer?utm_source=marketing_email&utm_medium=email&utm_campaign=" +
              s.campaign.utm_campaign());
    const auto click_events = clicks.WaitFor(tenant, 2, 20s);
    std::set<std::string> click_types;
    for (const auto& e : click_events) click_types.insert(e.envelope.event_type());
    CHECK(click_types ==
          std::set<std::string>{"crm.marketing.events.v1.TouchRecorded", "crm.marketing.events.v1.EmailClicked"});
    // "Clicked campaign X" holds Ada now.
    mv1::PreviewSegmentRequest clicked;
    clicked.mutable_rule()->mutable_engagement()->set_type("email_clicked");
    clicked.mutable_rule()->mutable_engagement()->set_campaign_id(s.campaign.id());
    auto p = api.PreviewSegment(clicked);
    REQUIRE(p.ok());
    REQUIRE(p.response.members_size() == 1);
    CHECK(p.response.members(0).id() == ada.id());

    // Tampered tokens and tokens of another tenant are refused.
    std::string tampered = click_path;
    tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
    CHECK(Http("GET", tampered).status == 401);
    const auto link_token = crm::common::VerifyPublicToken("tracked-link", click_path.substr(3), 3,
                                                           RequireEnv("CRM_INTERNAL_KEY"), std::time(nullptr));
    REQUIRE(link_token);
    crm::common::PublicToken foreign = *link_token;
    foreign.tenant = UniqueTenant("other");
    const std::string foreign_path =
        "/r/" + crm::common::SignPublicToken("tracked-link", foreign, RequireEnv("CRM_INTERNAL_KEY"));
    CHECK(Http("GET", foreign_path).status == 404);
    CHECK(Http("GET", unsubscribe_path).status != 302);  // an unsubscribe token opens no link

    // One-click unsubscribe (RFC 8058): the form body is accepted; the address gets nothing from the next send.
    const HttpReply unsub = Http("POST", unsubscribe_path, "List-Unsubscribe=One-Click",
                                 {{"content-type", "application/x-www-form-urlencoded"}});
    INFO(unsub.body);
    CHECK(unsub.status == 200);
    CHECK(Http("POST", unsubscribe_path, "List-Unsubscribe=One-Click",
               {{"content-type", "application/x-www-form-urlencoded"}})
              .status == 200);  // again: nothing changes
    CHECK(QueryScalar("marketing",
                      "SELECT reason FROM suppressions WHERE tenant_id = '" + tenant + "' AND address_key = '" +
                          crm::common::ColumnIndex(tenant, "audience.email", ada_email) + "'") == "unsubscribed");
    const mv1::EmailSend second = SendAndWait(api, s, list.id());
    CHECK(second.recipients() == 0);
    CHECK(second.skipped() == 4);
    std::this_thread::sleep_for(1s);
    CHECK(mailpit.To(ada_email).size() == 1);
    CHECK(mailpit.To(bounce_email).empty());
}

TEST_CASE("marketing email: bad input names every field - the public methods refuse staff-less callers",
          "[integration][marketing][email]") {
    const std::string tenant = UniqueTenant("me");
    MarketingClient api(TokenFor(tenant, {"marketer"}));
    mv1::CreateEmailTemplateRequest t;
    t.mutable_template_()->set_subject("Hi {{contact.password}}");
    t.mutable_template_()->set_html_body("<p>{{contact.email</p>");
    CHECK(FieldViolations(api.CreateEmailTemplate(t).status).size() == 4);  // name, subject, html_body, text_body
    mv1::CreateEmailSendRequest send;
    send.mutable_send()->set_campaign_id("x");
    send.mutable_send()->set_segment_id(crm::common::NewUuid());
    send.mutable_send()->set_template_id(crm::common::NewUuid());
    send.mutable_send()->mutable_schedule_time()->set_seconds(9999999999);
    const auto bad = api.CreateEmailSend(send);
    CHECK(HasViolation(bad.status, "send.campaign_id"));
    CHECK(HasViolation(bad.status, "send.schedule_time"));
    send.mutable_send()->set_campaign_id(crm::common::NewUuid());
    send.mutable_send()->clear_schedule_time();
    const auto missing = api.CreateEmailSend(send);
    CHECK(HasViolation(missing.status, "send.campaign_id"));
    CHECK(HasViolation(missing.status, "send.template_id"));
    CHECK(HasViolation(missing.status, "send.segment_id"));
    mv1::UpdateEmailSettingsRequest settings;
    settings.mutable_settings()->set_from_email("not an address");
    settings.mutable_settings()->set_rate_per_minute(-1);
    settings.mutable_update_mask()->add_paths("from_email");
    CHECK(HasViolation(api.UpdateEmailSettings(settings).status, "settings.from_email"));
    CHECK(HasViolation(api.UpdateEmailSettings(settings).status, "settings.rate_per_minute"));
    CHECK(QueryScalar("marketing", "SELECT count(*) FROM email_templates WHERE tenant_id = '" + tenant + "'") == "0");
    CHECK(QueryScalar("marketing", "SELECT count(*) FROM email_settings WHERE tenant_id = '" + tenant + "'") == "0");
    // A caller with only the public role (a link token's identity), directly at the service, reaches nothing else.
    MarketingClient public_caller(SignedIdentity(tenant, {"public"}), DirectChannel("CRM_TEST_MARKETING"));
    mv1::ListCampaignsRequest list;
    CHECK(public_caller.ListCampaigns(list).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    mv1::OpenTrackedLinkRequest open;
    open.set_token("forged.token");
    CHECK(public_caller.OpenTrackedLink(open).status.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("marketing email: temporary SMTP failures are retried with backoff", "[integration][marketing][email]") {
    const std::string tenant = UniqueTenant("me");
    const std::string token = TokenFor(tenant, {"admin"});
    ContactsClient contacts(token);
    MarketingClient api(token);
    const std::string email = Unique("retry");
    const cv1::Contact c = Person(contacts, api, "Retry", email, cv1::CONSENT_STATUS_OPTED_IN);
    const mv1::Segment list = ListOf(api, {c.id()});
    const Setup s = MakeCampaign(api);
    {
        StackCommandAtExit restart("smtp-start");
        StackCommand("smtp-stop");
        mv1::CreateEmailSendRequest req;
        req.mutable_send()->set_campaign_id(s.campaign.id());
        req.mutable_send()->set_template_id(s.tmpl.id());
        req.mutable_send()->set_segment_id(list.id());
        REQUIRE(api.CreateEmailSend(req).ok());
        REQUIRE(Eventually([&] {
            return QueryScalar("marketing",
                               "SELECT max(attempts) FROM email_recipients WHERE tenant_id = '" + tenant + "'") >= "2";
        }));
    }
    Mailpit mailpit;
    CHECK(mailpit.WaitFor(email, 1, 30s).size() == 1);
    CHECK(QueryScalar("marketing", "SELECT status FROM email_recipients WHERE tenant_id = '" + tenant + "'") == "sent");
}

TEST_CASE("marketing email: a crash between the relay's acceptance and the record sends no second message",
          "[integration][marketing][email][crash]") {
    const std::string tenant = UniqueTenant("me");
    const std::string token = TokenFor(tenant, {"admin"});
    ContactsClient contacts(token);
    MarketingClient api(token);
    const std::string email = Unique("once");
    const cv1::Contact c = Person(contacts, api, "Once", email, cv1::CONSENT_STATUS_OPTED_IN);
    const mv1::Segment list = ListOf(api, {c.id()});
    const Setup s = MakeCampaign(api);
    Mailpit mailpit;
    std::string send_id;
    {
        StackCommandAtExit restart("start-apps");
        REQUIRE(setenv("CRM_FAILPOINTS", "marketing.send.after_smtp=crash", 1) == 0);
        StackCommand("start-apps");
        REQUIRE(unsetenv("CRM_FAILPOINTS") == 0);
        MarketingClient armed(token);
        mv1::CreateEmailSendRequest req;
        req.mutable_send()->set_campaign_id(s.campaign.id());
        req.mutable_send()->set_template_id(s.tmpl.id());
        req.mutable_send()->set_segment_id(list.id());
        auto created = armed.CreateEmailSend(req);
        REQUIRE(created.ok());
        send_id = created.response.send().id();
        REQUIRE(mailpit.WaitFor(email, 1, 30s).size() == 1);  // accepted by the relay, then the process died
        REQUIRE(Eventually([] { return !WaitServing(RequireEnv("CRM_TEST_MARKETING"), 200ms); }, 10s));
    }  // restarted without the failpoint
    REQUIRE(WaitServing(RequireEnv("CRM_TEST_MARKETING"), 30s));
    mv1::EmailSend send;
    REQUIRE(Eventually([&] {
        mv1::GetEmailSendRequest get;
        get.set_id(send_id);
        auto r = api.GetEmailSend(get);
        send = r.response.send();
        return r.ok() && send.status() == mv1::EMAIL_SEND_STATUS_COMPLETED;
    }));
    CHECK(send.unconfirmed() == 1);
    CHECK(send.sent() == 0);
    std::this_thread::sleep_for(2s);
    CHECK(mailpit.To(email).size() == 1);  // never a second message
}
