// Sentiment through the gateway: every customer message (AddCaseMessage and IngestEmail) gets a score in [-1, 1] and
// a label, replies and notes none; a case's trend; the tenant's rule that raises priority on strongly negative
// messages (bad input named, etag, on and off, CaseUpdated with changed_paths "priority"); tenants.
#include <catch2/catch.hpp>
#include <cmath>

#include "../support/events.hpp"
#include "../support/support_client.hpp"
#include "crm/support/events/v1/events.pb.h"

using namespace crm::test;
using namespace std::chrono_literals;
namespace sev1 = crm::support::events::v1;

namespace {

spv1::CaseMessage Customer(SupportClient& api, const std::string& case_id, const std::string& body) {
    return api.MustAddMessage(case_id, spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, body).message();
}

spv1::Case Get(SupportClient& api, const std::string& id) {
    spv1::GetCaseRequest req;
    req.set_id(id);
    return api.GetCase(req).response.case_();
}

}  // namespace

TEST_CASE("support sentiment: customer messages are scored and a case keeps its trend",
          "[integration][support][sentiment]") {
    const std::string tenant = UniqueTenant("se");
    SupportClient api(TokenFor(tenant));
    SupportRoutingClient routing(TokenFor(tenant));
    const spv1::Case c = api.MustCreateCase("Broken blender");

    const spv1::CaseMessage angry = Customer(api, c.id(), "This is terrible, it broke again and I want a refund!");
    CHECK(angry.sentiment().label() == spv1::SENTIMENT_LABEL_NEGATIVE);
    CHECK(angry.sentiment().score() < -0.5);
    CHECK(angry.sentiment().score() >= -1.0);
    const auto reply = api.MustAddMessage(c.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "Sorry, we are terribly sorry.");
    CHECK_FALSE(reply.message().has_sentiment());  // replies are not scored
    const auto note = api.MustAddMessage(c.id(), spv1::MESSAGE_KIND_INTERNAL_NOTE, "Customer is furious");
    CHECK_FALSE(note.message().has_sentiment());
    const spv1::CaseMessage neutral = Customer(api, c.id(), "Which address should I send the old unit to?");
    CHECK(neutral.sentiment().label() == spv1::SENTIMENT_LABEL_NEUTRAL);
    const spv1::CaseMessage happy = Customer(api, c.id(), "Thank you so much, the replacement works perfectly.");
    CHECK(happy.sentiment().label() == spv1::SENTIMENT_LABEL_POSITIVE);
    CHECK(happy.sentiment().score() > 0.5);
    CHECK(happy.sentiment().score() <= 1.0);

    // The conversation shows the scores.
    spv1::ListCaseMessagesRequest list;
    list.set_case_id(c.id());
    const auto messages = api.ListCaseMessages(list).response.messages();
    REQUIRE(messages.size() == 5);
    CHECK(messages[0].sentiment().label() == spv1::SENTIMENT_LABEL_NEGATIVE);
    CHECK_FALSE(messages[1].has_sentiment());

    spv1::GetCaseSentimentRequest ask;
    ask.set_case_id(c.id());
    auto trend = routing.GetCaseSentiment(ask);
    INFO(trend.status.error_message());
    REQUIRE(trend.ok());
    REQUIRE(trend.response.points_size() == 3);
    CHECK(trend.response.points(0).message_id() == angry.id());
    CHECK(trend.response.points(2).message_id() == happy.id());
    const double a = angry.sentiment().score(), n = neutral.sentiment().score(), h = happy.sentiment().score();
    CHECK(trend.response.average_score() == Approx((a + n + h) / 3).margin(1e-3));
    CHECK(trend.response.latest_score() == Approx(h).margin(1e-3));
    CHECK(trend.response.trend() == Approx(h - a).margin(1e-3));  // second half minus first half (middle left out)
    CHECK(trend.response.trend() > 1.0);

    // A case opened by e-mail: its first message is scored too.
    spv1::IngestEmailRequest mail;
    mail.set_raw_message("From: Olga <olga-" + tenant + "@example.com>\r\nSubject: Still broken\r\nMessage-ID: <s-" +
                         tenant + "@example.com>\r\n\r\nI am extremely frustrated, nothing works and nobody answers.");
    auto ingested = api.IngestEmail(mail);
    INFO(ingested.status.error_message());
    REQUIRE(ingested.ok());
    CHECK(ingested.response.message().sentiment().label() == spv1::SENTIMENT_LABEL_NEGATIVE);

    // A case without customer messages has an empty trend; another tenant's case is NOT_FOUND; a bad id is named.
    const spv1::Case quiet = api.MustCreateCase("Quiet");
    ask.set_case_id(quiet.id());
    auto empty = routing.GetCaseSentiment(ask);
    REQUIRE(empty.ok());
    CHECK(empty.response.points_size() == 0);
    CHECK(empty.response.average_score() == 0);
    SupportRoutingClient other(TokenFor(UniqueTenant("se")));
    ask.set_case_id(c.id());
    CHECK(other.GetCaseSentiment(ask).status.error_code() == grpc::StatusCode::NOT_FOUND);
    ask.set_case_id("nope");
    CHECK(HasViolation(routing.GetCaseSentiment(ask).status, "case_id"));
}

TEST_CASE("support sentiment: the rule raises priority on strongly negative messages, once per message",
          "[integration][support][sentiment]") {
    const std::string tenant = UniqueTenant("sr");
    SupportClient api(TokenFor(tenant));
    SupportRoutingClient routing(TokenFor(tenant));
    const auto initial = routing.GetSentimentRule({}).response.sentiment_rule();
    CHECK_FALSE(initial.enabled());
    CHECK(initial.threshold() == -0.6);
    CHECK(initial.version() == 0);

    // Off (the default): nothing changes.
    const spv1::Case off = api.MustCreateCase("Off");
    Customer(api, off.id(), "This is the worst service ever, absolutely terrible and useless!");
    CHECK(Get(api, off.id()).priority() == spv1::CASE_PRIORITY_NORMAL);

    spv1::UpdateSentimentRuleRequest bad;
    bad.mutable_sentiment_rule()->set_threshold(0.5);
    bad.mutable_sentiment_rule()->set_etag("x");
    auto refused = routing.UpdateSentimentRule(bad);
    CHECK(HasViolation(refused.status, "sentiment_rule.threshold"));
    CHECK(HasViolation(refused.status, "sentiment_rule.etag"));
    bad.mutable_sentiment_rule()->set_threshold(-1.5);
    bad.mutable_sentiment_rule()->clear_etag();
    CHECK(HasViolation(routing.UpdateSentimentRule(bad).status, "sentiment_rule.threshold"));
    bad.mutable_sentiment_rule()->set_threshold(std::nan(""));
    CHECK(HasViolation(routing.UpdateSentimentRule(bad).status, "sentiment_rule.threshold"));
    CHECK(QueryScalar("support", "SELECT count(*) FROM support_sentiment_rules WHERE tenant_id = '" + tenant + "'") ==
          "0");

    spv1::UpdateSentimentRuleRequest on;
    on.mutable_sentiment_rule()->set_enabled(true);
    on.mutable_sentiment_rule()->set_threshold(-0.5);
    auto stored = routing.UpdateSentimentRule(on);
    INFO(stored.status.error_message());
    REQUIRE(stored.ok());
    CHECK(stored.response.sentiment_rule().etag() == "v1");
    on.mutable_sentiment_rule()->set_etag("v5");
    CHECK(routing.UpdateSentimentRule(on).status.error_code() == grpc::StatusCode::ABORTED);

    const spv1::Case c = api.MustCreateCase("Will escalate");
    EventTap tap("crm.support.v1");
    tap.Keep([&](const crm::common::v1::EventEnvelope& e) {
        return e.aggregate_id() == c.id() && e.event_type() == "crm.support.events.v1.CaseUpdated";
    });
    // A positive or neutral message changes nothing; a strongly negative one raises NORMAL to HIGH, the next to URGENT,
    // and URGENT stays.
    Customer(api, c.id(), "Thanks for the quick answer, great help.");
    Customer(api, c.id(), "Where can I download the manual?");
    CHECK(Get(api, c.id()).priority() == spv1::CASE_PRIORITY_NORMAL);
    const auto first = api.MustAddMessage(c.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE,
                                          "This is unacceptable, it broke again. Terrible, I want a refund!");
    REQUIRE(first.message().sentiment().score() <= -0.5);
    CHECK(first.case_().priority() == spv1::CASE_PRIORITY_HIGH);
    Customer(api, c.id(), "I am furious, still broken and nobody helps. Worst service ever!");
    CHECK(Get(api, c.id()).priority() == spv1::CASE_PRIORITY_URGENT);
    Customer(api, c.id(), "Absolutely terrible, I am extremely angry!");
    CHECK(Get(api, c.id()).priority() == spv1::CASE_PRIORITY_URGENT);

    const auto events = tap.WaitFor(tenant, 2, 30s);
    REQUIRE(events.size() == 2);
    for (const auto& e : events) {
        sev1::CaseUpdated updated;
        REQUIRE(e.envelope.payload().UnpackTo(&updated));
        REQUIRE(updated.changed_paths_size() == 1);
        CHECK(updated.changed_paths(0) == "priority");
    }

    // Another tenant's rule is its own.
    SupportRoutingClient other(TokenFor(UniqueTenant("sr")));
    CHECK_FALSE(other.GetSentimentRule({}).response.sentiment_rule().enabled());
}
