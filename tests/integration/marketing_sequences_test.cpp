// Sequences (journeys) through the gateway: definitions checked node by node, versioned, tenant-scoped and
// role-checked; a whitepaper download enrols a lead once and its steps run (an email through the sender with its
// unsubscribe headers, a wait, a branch on the click, leads' API records an engagement and changes the status); a crash
// of marketing after a step's effects are prepared and before their commit neither skips nor repeats the step; the
// due-step query stays index-backed at 100k enrolments; an A/B split assigns deterministically and reports its
// chi-square test.
#include <crm/marketing/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../support/events.hpp"
#include "../support/explain.hpp"
#include "../support/http_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/sequences.hpp"
#include "domain/sequence.hpp"
#include "sequences/sql.hpp"

using namespace crm::test;
using namespace crm::test::seq;
using namespace std::chrono_literals;
namespace mev = crm::marketing::events::v1;

namespace {

bool Names(const grpc::Status& status, const std::string& field) {
    for (const auto& v : FieldViolations(status)) {
        if (v.field == field) return true;
    }
    return false;
}

HttpReply Http(const std::string& method, const std::string& target) {
    HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    return client.Send(method, target, {}, {});
}

std::function<bool(const crm::common::v1::EventEnvelope&)> SequenceEventsOf(const std::string& sequence_id) {
    return [sequence_id](const crm::common::v1::EventEnvelope& e) {
        if (e.event_type() == "crm.marketing.events.v1.SequenceStepExecuted") {
            mev::SequenceStepExecuted x;
            return e.payload().UnpackTo(&x) && x.sequence_id() == sequence_id;
        }
        if (e.event_type() == "crm.marketing.events.v1.SequenceEnrolled") {
            mev::SequenceEnrolled x;
            return e.payload().UnpackTo(&x) && x.sequence_id() == sequence_id;
        }
        if (e.event_type() == "crm.marketing.events.v1.SequenceExited") {
            mev::SequenceExited x;
            return e.payload().UnpackTo(&x) && x.sequence_id() == sequence_id;
        }
        return false;
    };
}

mv1::Sequence Basic(const std::string& campaign, const std::string& tmpl) {
    mv1::Sequence s;
    s.set_name("Whitepaper follow-up");
    s.mutable_trigger()->set_type(mv1::SEQUENCE_TRIGGER_TYPE_LEAD_ENGAGEMENT);
    s.mutable_trigger()->set_value("whitepaper_download");
    *s.add_steps() = SendStep("welcome", campaign, tmpl);
    *s.add_steps() = WaitStep("pause", 3600);
    *s.add_steps() = StopStep("end");
    return s;
}

}  // namespace

TEST_CASE(
    "marketing sequences: every bad node is named and nothing is written - versions, etags, idempotent creates, "
    "tenants and roles",
    "[integration][marketing][sequences]") {
    const std::string tenant = UniqueTenant("msq");
    MarketingClient api(TokenFor(tenant, {"marketer"}));
    const mv1::Campaign campaign = api.MustCreateCampaign("Sequences");
    const mv1::EmailTemplate tmpl = Template(api, "Welcome", "https://example.com/paper");

    mv1::Sequence bad;
    bad.set_name(std::string("x\0y", 3));
    bad.mutable_trigger()->set_value("Not A Type!");
    *bad.add_steps() = SendStep("dup", "not-a-uuid", tmpl.id());
    mv1::SequenceStep wait = WaitStep("dup", 10);
    wait.mutable_wait()->mutable_until()->add_weekdays(9);
    wait.mutable_wait()->mutable_until()->set_hour(24);
    wait.mutable_wait()->mutable_until()->set_time_zone("Mars/Olympus");
    *bad.add_steps() = wait;
    mv1::SequenceStep branch;
    branch.set_id("check");
    branch.mutable_branch()->mutable_condition()->set_clicked_step("later");
    branch.mutable_branch()->set_then_step("dup");
    *bad.add_steps() = branch;
    mv1::SequenceStep split;
    split.set_id("later");
    auto* only = split.mutable_split()->add_variants();
    only->set_name("A B");
    only->set_weight(0);
    *bad.add_steps() = split;
    mv1::SequenceStep status;
    status.set_id("status");
    status.mutable_change_lead_status()->set_status("converted");
    *bad.add_steps() = status;
    mv1::SequenceStep empty;
    empty.set_id(std::string("a\x01", 2));
    *bad.add_steps() = empty;
    mv1::CreateSequenceRequest create;
    *create.mutable_sequence() = bad;
    auto refused = api.CreateSequence(create);
    REQUIRE(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field :
         {"sequence.name", "sequence.trigger.type", "sequence.steps[0].send_email.campaign_id", "sequence.steps[1].id",
          "sequence.steps[1].wait", "sequence.steps[1].wait.until.weekdays[0]", "sequence.steps[1].wait.until.hour",
          "sequence.steps[1].wait.until.time_zone", "sequence.steps[2].branch.condition.clicked_step",
          "sequence.steps[2].branch.then_step", "sequence.steps[3].split.variants",
          "sequence.steps[3].split.variants[0].name", "sequence.steps[3].split.variants[0].weight",
          "sequence.steps[4].change_lead_status.status", "sequence.steps[5].id", "sequence.steps[5]"}) {
        INFO(field << ": " << refused.status.error_message());
        CHECK(Names(refused.status, field));
    }
    // A rule of a branch is checked as a segment rule is, with its path.
    mv1::Sequence rule_bad = Basic(campaign.id(), tmpl.id());
    mv1::SequenceStep by_rule;
    by_rule.set_id("by-rule");
    by_rule.mutable_branch()->mutable_condition()->mutable_rule()->mutable_field()->set_field("no_such_field");
    *rule_bad.mutable_steps()->Add() = by_rule;
    *create.mutable_sequence() = rule_bad;
    auto rule_refused = api.CreateSequence(create);
    CHECK(rule_refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(Names(rule_refused.status, "sequence.steps[3].branch.condition.rule.field.op"));
    // Too many steps: the list is refused as a whole.
    mv1::Sequence huge = Basic(campaign.id(), tmpl.id());
    huge.clear_steps();
    for (int i = 0; i < 51; ++i) *huge.add_steps() = StopStep("s" + std::to_string(i));
    *create.mutable_sequence() = huge;
    CHECK(Names(api.CreateSequence(create).status, "sequence.steps"));
    // Another tenant's campaign, a missing template: named, nothing written.
    MarketingClient other(TokenFor(UniqueTenant("msq"), {"marketer"}));
    const mv1::Campaign foreign = other.MustCreateCampaign("Not yours");
    *create.mutable_sequence() = Basic(foreign.id(), crm::common::NewUuid());
    auto missing = api.CreateSequence(create);
    CHECK(missing.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(Names(missing.status, "sequence.steps[0].send_email.campaign_id"));
    CHECK(Names(missing.status, "sequence.steps[0].send_email.template_id"));
    // A status change runs as the saving user: a marketer (who may not change a lead's status) cannot save one.
    mv1::Sequence moves_leads = Basic(campaign.id(), tmpl.id());
    mv1::SequenceStep qualify;
    qualify.set_id("qualify");
    qualify.mutable_change_lead_status()->set_status("qualified");
    *moves_leads.mutable_steps()->Add() = qualify;
    moves_leads.mutable_steps()->SwapElements(2, 3);  // stop stays last
    *create.mutable_sequence() = moves_leads;
    auto escalation = api.CreateSequence(create);
    INFO(escalation.status.error_message());
    CHECK(escalation.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(api.ListSequences({}).response.sequences_size() == 0);

    // Created (ACTIVE by default), idempotently.
    *create.mutable_sequence() = Basic(campaign.id(), tmpl.id());
    create.set_request_id("create-once");
    auto created = api.CreateSequence(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const mv1::Sequence s = created.response.sequence();
    CHECK(s.version() == 1);
    CHECK(s.status() == mv1::SEQUENCE_STATUS_ACTIVE);
    CHECK(s.steps_size() == 3);
    CHECK(s.trigger().value() == "whitepaper_download");
    auto again = api.CreateSequence(create);
    REQUIRE(again.ok());
    CHECK(again.response.sequence().id() == s.id());
    CHECK(api.ListSequences({}).response.sequences_size() == 1);

    // A new definition is a new version; a stale etag is refused.
    mv1::UpdateSequenceRequest update;
    update.mutable_sequence()->set_id(s.id());
    update.mutable_sequence()->set_etag(s.etag());
    *update.mutable_sequence()->mutable_steps() = s.steps();
    update.mutable_sequence()->mutable_steps(1)->mutable_wait()->set_seconds(7200);
    update.mutable_update_mask()->add_paths("steps");
    auto updated = api.UpdateSequence(update);
    REQUIRE(updated.ok());
    CHECK(updated.response.sequence().version() == 2);
    CHECK(updated.response.sequence().steps(1).wait().seconds() == 7200);
    CHECK(api.UpdateSequence(update).status.error_code() == grpc::StatusCode::ABORTED);
    update.mutable_update_mask()->add_paths("enrolments");
    CHECK(api.UpdateSequence(update).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);

    // Tenants and roles.
    mv1::GetSequenceRequest get;
    get.set_id(s.id());
    CHECK(other.GetSequence(get).status.error_code() == grpc::StatusCode::NOT_FOUND);
    mv1::ListSequenceEnrolmentsRequest list;
    list.set_sequence_id(s.id());
    CHECK(other.ListSequenceEnrolments(list).status.error_code() == grpc::StatusCode::NOT_FOUND);
    MarketingClient analyst(TokenFor(tenant, {"analyst"}));
    CHECK(analyst.GetSequence(get).ok());
    CHECK(analyst.ListSequenceEnrolments(list).ok());
    CHECK(analyst.CreateSequence(create).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    MarketingClient rep(TokenFor(tenant, {"sales_rep"}));
    CHECK(rep.GetSequence(get).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    mv1::GetSequenceSplitReportRequest report;
    report.set_sequence_id(s.id());
    report.set_step_id("welcome");
    CHECK(analyst.GetSequenceSplitReport(report).status.error_code() == grpc::StatusCode::NOT_FOUND);  // not a split
}

TEST_CASE(
    "marketing sequences: a whitepaper download enrols a lead once - its email carries the unsubscribe headers, the "
    "click takes the branch, and leads records the engagement and the new status",
    "[integration][marketing][sequences]") {
    const std::string tenant = UniqueTenant("msq");
    const std::string token = TokenFor(tenant, {"admin"});
    LeadsClient leads(token);
    MarketingClient api(token);
    const std::string email = UniqueEmail("wendy");
    const lv1::Lead wendy = ConsentingLead(leads, api, "Wendy", email);
    const mv1::Campaign campaign = api.MustCreateCampaign("Whitepaper nurture");
    const mv1::EmailTemplate tmpl = Template(api, "Your whitepaper", "https://example.com/paper");

    mv1::Sequence def;
    def.set_name("Whitepaper nurture");
    def.mutable_trigger()->set_type(mv1::SEQUENCE_TRIGGER_TYPE_LEAD_ENGAGEMENT);
    def.mutable_trigger()->set_value("whitepaper_download");
    *def.add_steps() = SendStep("welcome", campaign.id(), tmpl.id());
    *def.add_steps() = WaitStep("pause", 20);  // time enough to click, even on a loaded machine
    mv1::SequenceStep check;
    check.set_id("clicked");
    check.mutable_branch()->mutable_condition()->set_clicked_step("welcome");
    check.mutable_branch()->set_then_step("hot");
    *def.add_steps() = check;
    *def.add_steps() = EngagementStep("cold", "sequence_cold");
    *def.add_steps() = StopStep("cold-end");
    mv1::SequenceStep hot;
    hot.set_id("hot");
    hot.mutable_change_lead_status()->set_status("qualified");
    hot.mutable_change_lead_status()->set_reason("clicked the whitepaper follow-up");
    *def.add_steps() = hot;
    *def.add_steps() = EngagementStep("hot-note", "sequence_hot");
    const mv1::Sequence sequence = MustCreateSequence(api, def);

    EventTap tap("crm.marketing.v1");
    tap.Keep(SequenceEventsOf(sequence.id()));
    // Two downloads: two trigger events, one enrolment.
    for (int i = 0; i < 2; ++i) {
        lv1::RecordEngagementRequest download;
        download.set_lead_id(wendy.id());
        download.mutable_engagement()->set_type("whitepaper_download");
        download.mutable_engagement()->set_direction(lv1::ENGAGEMENT_DIRECTION_INBOUND);
        REQUIRE(leads.RecordEngagement(download).ok());
    }
    Mailpit mailpit;
    const auto got = mailpit.WaitFor(email, 1, 30s);
    REQUIRE(got.size() == 1);
    const auto headers = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + got[0].id + "/headers"));
    CHECK(headers["List-Unsubscribe-Post"][0] == "List-Unsubscribe=One-Click");
    CHECK(headers["List-Unsubscribe"][0].get<std::string>().find("/u/") != std::string::npos);
    CHECK(got[0].subject.find("Your whitepaper for Wendy") == 0);
    const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + got[0].id));
    const std::string click = "/r/" + Between(message["HTML"].get<std::string>(), "/r/", '"');
    REQUIRE(click.size() > 10);
    REQUIRE(Http("GET", click).status == 302);

    // After the wait: the branch sees the click; leads changes the status and records the engagement.
    REQUIRE(Eventually(
        [&] {
            const auto e = Enrolments(api, sequence.id());
            return e.size() == 1 && e[0].status() == mv1::ENROLMENT_STATUS_COMPLETED;
        },
        60s));
    const auto enrolments = Enrolments(api, sequence.id());
    REQUIRE(enrolments.size() == 1);
    CHECK(enrolments[0].person_id() == wendy.id());
    CHECK(enrolments[0].exit_reason() == "completed");
    lv1::GetLeadRequest get;
    get.set_id(wendy.id());
    CHECK(leads.GetLead(get).response.lead().status() == lv1::LEAD_STATUS_QUALIFIED);
    const std::string engagements =
        "SELECT count(*) FROM lead_engagements WHERE tenant_id = '" + tenant + "' AND lead_id = '" + wendy.id() + "'";
    CHECK(QueryScalar("leads", engagements + " AND type = 'sequence_hot'") == "1");
    CHECK(QueryScalar("leads", engagements + " AND type = 'sequence_cold'") == "0");

    // Events: enrolled once, each step reached once with its outcome, exited as completed.
    const auto events = tap.WaitFor(tenant, 7, 30s, 3s);
    std::map<std::string, std::string> outcomes;
    int enrolled = 0, exited = 0;
    for (const auto& e : events) {
        const std::string& type = e.envelope.event_type();
        if (type == "crm.marketing.events.v1.SequenceEnrolled") ++enrolled;
        if (type == "crm.marketing.events.v1.SequenceExited") {
            mev::SequenceExited x;
            REQUIRE(e.envelope.payload().UnpackTo(&x));
            CHECK(x.reason() == "completed");
            ++exited;
        }
        if (type == "crm.marketing.events.v1.SequenceStepExecuted") {
            mev::SequenceStepExecuted x;
            REQUIRE(e.envelope.payload().UnpackTo(&x));
            CHECK(outcomes.emplace(x.step_id(), x.outcome()).second);  // never twice
        }
    }
    CHECK(enrolled == 1);
    CHECK(exited == 1);
    CHECK(outcomes == std::map<std::string, std::string>{{"welcome", "queued"},
                                                         {"pause", "waiting"},
                                                         {"clicked", "then"},
                                                         {"hot", "changed"},
                                                         {"hot-note", "recorded"}});
    CHECK(mailpit.To(email).size() == 1);
}

TEST_CASE("marketing sequences: a crash after a step's effects are prepared and before their commit sends once",
          "[integration][marketing][sequences][crash]") {
    const std::string tenant = UniqueTenant("msq");
    const std::string token = TokenFor(tenant, {"admin"});
    LeadsClient leads(token);
    MarketingClient api(token);
    const mv1::Campaign campaign = api.MustCreateCampaign("Webinar follow-up");
    const mv1::EmailTemplate tmpl = Template(api, "Thanks for joining", "https://example.com/recording");
    mv1::Sequence def;
    def.set_name("Webinar attendees");
    def.mutable_trigger()->set_type(mv1::SEQUENCE_TRIGGER_TYPE_LEAD_CREATED);
    def.mutable_trigger()->set_value("Webinar");
    *def.add_steps() = SendStep("thanks", campaign.id(), tmpl.id());
    *def.add_steps() = EngagementStep("note", "webinar_followed_up");
    const mv1::Sequence sequence = MustCreateSequence(api, def);
    CHECK(sequence.trigger().value() == "webinar");

    EventTap tap("crm.marketing.v1");
    tap.Keep(SequenceEventsOf(sequence.id()));
    const std::string email = UniqueEmail("once");
    Mailpit mailpit;
    lv1::Lead lead;
    {
        StackCommandAtExit restart("start-apps");
        REQUIRE(setenv("CRM_FAILPOINTS", "marketing.sequence.before_commit=crash", 1) == 0);
        StackCommand("start-apps");
        REQUIRE(unsetenv("CRM_FAILPOINTS") == 0);
        LeadsClient armed_leads(token);
        // Not waited for in marketing's audience: the process dies as soon as the runner takes the enrolment.
        lv1::CreateLeadRequest create;
        create.mutable_lead()->set_given_name("Olga");
        create.mutable_lead()->set_email(email);
        create.mutable_lead()->set_source("webinar");
        create.mutable_lead()->mutable_consent()->set_granted(true);
        create.mutable_lead()->mutable_consent()->set_text("Send me news");
        auto created = armed_leads.CreateLead(create);
        INFO(created.status.error_message());
        REQUIRE(created.ok());
        lead = created.response.lead();
        // The runner takes the enrolment, prepares the message and the engagement, and dies before the commit.
        REQUIRE(Eventually([] { return !WaitServing(RequireEnv("CRM_TEST_MARKETING"), 200ms); }, 30s));
    }  // restarted without the failpoint
    REQUIRE(WaitServing(RequireEnv("CRM_TEST_MARKETING"), 30s));
    REQUIRE(Eventually(
        [&] {
            const auto e = Enrolments(api, sequence.id());
            return e.size() == 1 && e[0].status() == mv1::ENROLMENT_STATUS_COMPLETED;
        },
        60s));
    CHECK(mailpit.WaitFor(email, 1, 30s).size() == 1);
    const auto events = tap.WaitFor(tenant, 4, 30s, 3s);  // enrolled, two steps, exited
    std::map<std::string, int> steps;
    for (const auto& e : events) {
        if (e.envelope.event_type() != "crm.marketing.events.v1.SequenceStepExecuted") continue;
        mev::SequenceStepExecuted x;
        REQUIRE(e.envelope.payload().UnpackTo(&x));
        ++steps[x.step_id()];
    }
    CHECK(steps == std::map<std::string, int>{{"thanks", 1}, {"note", 1}});
    CHECK(events.size() == 4);
    // The engagement went to leads once although its call was made before the crash too (its idempotency key).
    CHECK(QueryScalar("leads", "SELECT count(*) FROM lead_engagements WHERE tenant_id = '" + tenant +
                                   "' AND type = 'webinar_followed_up'") == "1");
    std::this_thread::sleep_for(2s);
    CHECK(mailpit.To(email).size() == 1);  // never a second message
}

TEST_CASE("marketing sequences: an A/B split assigns each enrolment once by weight and reports the chi-square test",
          "[integration][marketing][sequences][split]") {
    const std::string tenant = UniqueTenant("msq");
    const std::string token = TokenFor(tenant, {"admin"});
    LeadsClient leads(token);
    MarketingClient api(token);
    const mv1::Campaign campaign = api.MustCreateCampaign("Subject test");
    const mv1::EmailTemplate a = Template(api, "Variant A", "https://example.com/a");
    const mv1::EmailTemplate b = Template(api, "Variant B", "https://example.com/b");
    mv1::CreateSegmentRequest list;
    list.mutable_segment()->set_name("Split audience");
    list.mutable_segment()->set_type(mv1::SEGMENT_TYPE_STATIC);
    auto segment = api.CreateSegment(list);
    REQUIRE(segment.ok());

    mv1::Sequence def;
    def.set_name("A/B");
    def.mutable_trigger()->set_type(mv1::SEQUENCE_TRIGGER_TYPE_SEGMENT_ENTERED);
    def.mutable_trigger()->set_value(segment.response.segment().id());
    mv1::SequenceStep split;
    split.set_id("ab");
    auto* va = split.mutable_split()->add_variants();
    va->set_name("a");
    va->set_weight(1);
    va->set_next_step("mail-a");
    auto* vb = split.mutable_split()->add_variants();
    vb->set_name("b");
    vb->set_weight(1);
    vb->set_next_step("mail-b");
    *def.add_steps() = split;
    *def.add_steps() = SendStep("mail-a", campaign.id(), a.id());
    *def.add_steps() = StopStep("end-a");
    *def.add_steps() = SendStep("mail-b", campaign.id(), b.id());
    const mv1::Sequence sequence = MustCreateSequence(api, def);

    // Twelve consenting leads enter the list: each is enrolled and split.
    std::vector<std::string> emails;
    mv1::AddSegmentMembersRequest add;
    add.set_segment_id(segment.response.segment().id());
    for (int i = 0; i < 12; ++i) {
        emails.push_back(UniqueEmail("split" + std::to_string(i)));
        add.add_person_ids(ConsentingLead(leads, api, "Sam", emails.back()).id());
    }
    REQUIRE(api.AddSegmentMembers(add).ok());
    REQUIRE(Eventually(
        [&] {
            const auto e = Enrolments(api, sequence.id());
            if (e.size() != 12) return false;
            for (const auto& x : e) {
                if (x.status() != mv1::ENROLMENT_STATUS_COMPLETED) return false;
            }
            return true;
        },
        60s));
    // Every message in Mailpit; the variant of each person from its subject; variant A's people click.
    Mailpit mailpit;
    std::map<std::string, std::int64_t> sent, clicked;
    for (const auto& address : emails) {
        const auto got = mailpit.WaitFor(address, 1, 30s);
        REQUIRE(got.size() == 1);
        const std::string variant = got[0].subject.rfind("Variant A", 0) == 0 ? "a" : "b";
        ++sent[variant];
        if (variant == "a") {
            const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + got[0].id));
            REQUIRE(Http("GET", "/r/" + Between(message["HTML"].get<std::string>(), "/r/", '"')).status == 302);
            ++clicked[variant];
        }
    }
    mv1::GetSequenceSplitReportRequest req;
    req.set_sequence_id(sequence.id());
    req.set_step_id("ab");
    MarketingClient analyst(TokenFor(tenant, {"analyst"}));
    auto report = analyst.GetSequenceSplitReport(req);
    REQUIRE(report.ok());
    REQUIRE(report.response.variants_size() == 2);
    std::vector<crm::marketing::domain::SplitCounts> table;
    for (const auto& v : report.response.variants()) {
        INFO(v.name());
        CHECK(v.assigned() == sent[v.name()]);
        CHECK(v.sent() == sent[v.name()]);
        CHECK(v.clicked() == clicked[v.name()]);
        table.push_back({v.sent(), v.clicked()});
    }
    const auto expected = crm::marketing::domain::ChiSquareTest(table);
    CHECK(report.response.degrees_of_freedom() == expected.degrees_of_freedom);
    CHECK(report.response.chi_square() == Approx(expected.chi_square));
    CHECK(report.response.p_value() == Approx(expected.p_value));
    if (sent["a"] > 0 && sent["b"] > 0) {
        // Everybody in A clicked, nobody in B: chi2 = N (a perfect 2 x 2 association).
        CHECK(report.response.chi_square() == Approx(12.0));
        CHECK(report.response.p_value() < 0.001);
    }
    // The assignment is a function of the enrolment: the same variant as the domain rule gives.
    for (const auto& e : Enrolments(api, sequence.id())) {
        const std::string variant =
            QueryScalar("marketing", "SELECT variant FROM sequence_step_runs WHERE tenant_id = '" + tenant +
                                         "' AND enrolment_id = '" + e.id() + "' AND step_id = 'ab'");
        CHECK(variant == (crm::marketing::domain::AssignVariant(e.id(), "ab", {1, 1}) == 0 ? "a" : "b"));
    }
}

TEST_CASE("marketing sequences: the due-step query is index-backed at 100k enrolments (EXPLAIN as the app role)",
          "[integration][marketing][sequences][explain]") {
    const std::string tenant = UniqueTenant("msqx");
    const std::string sequence = crm::common::NewUuid();
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant), s = tx.quote(sequence);
        tx.exec("INSERT INTO sequences (tenant_id, id, name, status, trigger_type) VALUES (" + t + ", " + s +
                ", 'S', 'ACTIVE', 'SEQUENCE_TRIGGER_TYPE_LEAD_CREATED')");
        tx.exec("INSERT INTO sequence_versions (tenant_id, sequence_id, version, definition) VALUES (" + t + ", " + s +
                ", 1, '{}')");
        // 100k enrolments: 2% due now, the rest waiting up to 30 days; a third already finished.
        tx.exec(
            "INSERT INTO sequence_enrolments (tenant_id, id, sequence_id, sequence_version, person_id, "
            "trigger_event_id, status, due_time) SELECT " +
            t + ", gen_random_uuid(), " + s +
            ", 1, gen_random_uuid(), gen_random_uuid(), CASE WHEN g % 3 = 0 THEN 'completed' ELSE 'active' END, "
            "CASE WHEN g % 50 = 0 THEN now() - interval '1 minute' ELSE now() + (g % 30 + 1) * interval '1 day' "
            "END FROM generate_series(1, 100000) AS g");
        tx.exec("ANALYZE sequence_enrolments");
        tx.commit();
    }
    const QueryPlan due =
        ExplainAs(conn, "marketing_app", tenant, crm::marketing::sequences::sql::kClaimDue.text, "'" + tenant + "'");
    INFO(due.text);
    CHECK(due.Uses("sequence_enrolments_due"));
    CHECK_FALSE(due.Has("Seq Scan sequence_enrolments"));
    CHECK_FALSE(due.Has("Sort"));
    const QueryPlan person =
        ExplainAs(conn, "marketing_app", tenant, crm::marketing::sequences::sql::kActiveOfPerson.text,
                  "'" + tenant + "', '" + crm::common::NewUuid() + "'");
    INFO(person.text);
    CHECK(person.Uses("sequence_enrolments_active_person"));
    CHECK_FALSE(person.Has("Seq Scan sequence_enrolments"));
    const QueryPlan list =
        ExplainAs(conn, "marketing_app", tenant, crm::marketing::sequences::sql::kListEnrolments.text,
                  "'" + tenant + "', '" + sequence +
                      "', 253402300799999999, "
                      "'ffffffff-ffff-ffff-ffff-ffffffffffff', 51");
    INFO(list.text);
    CHECK(list.Uses("sequence_enrolments_list"));
    CHECK_FALSE(list.Has("Seq Scan sequence_enrolments"));
    CHECK(list.ms < 500);
    pqxx::work cleanup(conn);  // 100k rows of one test tenant do not stay for the next runs
    for (const char* table : {"sequence_enrolments", "sequence_versions", "sequences"}) {
        cleanup.exec(std::string("DELETE FROM ") + table + " WHERE tenant_id = " + cleanup.quote(tenant));
    }
    cleanup.commit();
    pqxx::nontransaction stats(conn);
    stats.exec("ANALYZE sequence_enrolments");
}
