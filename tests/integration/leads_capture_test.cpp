// Leads capture through the gateway: CreateLead (idempotent, dedup by email), bad input, tenant isolation on every
// RPC, events with their envelope, bulk import with a result per row, and the public web form (directly with a
// signed web_form identity for the bot and consent rules, and end to end through the gateway with a web_form API key).
#include <crm/gateway/v1/api_keys.grpc.pb.h>
#include <crm/leads/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <thread>

#include "../support/events.hpp"
#include "../support/leads_client.hpp"

using namespace crm::test;
namespace lev1 = crm::leads::events::v1;

namespace {
std::string CountLeads(const std::string& tenant, const std::string& where = "true") {
    return QueryScalar("leads", "SELECT count(*) FROM leads WHERE tenant_id = '" + tenant + "' AND " + where);
}
std::string Email(const std::string& local) {
    return local + "-" + crm::common::NewUuid().substr(0, 8) + "@example.com";
}
}  // namespace

TEST_CASE("leads: create normalizes, is idempotent by request_id and refuses an open duplicate email",
          "[integration][leads]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    EventTap tap("crm.leads.v1");

    lv1::CreateLeadRequest req;
    auto* l = req.mutable_lead();
    l->set_given_name(" Grace ");
    l->set_family_name("Hopper");
    l->set_email(" Grace.Hopper@Example.COM");
    l->set_country("us");
    l->set_source(" Trade_Show ");
    l->set_campaign_id("cmp-42");
    l->set_priority(lv1::LEAD_PRIORITY_HIGH);
    (*l->mutable_attributes())["industry"] = "software";
    l->set_status(lv1::LEAD_STATUS_CONVERTED);  // output only: ignored
    req.set_request_id("req-" + crm::common::NewUuid());
    auto first = api.CreateLead(req);
    INFO(first.status.error_message());
    REQUIRE(first.ok());
    const lv1::Lead& lead = first.response.lead();
    CHECK(crm::common::IsUuid(lead.id()));
    CHECK(lead.given_name() == "Grace");
    CHECK(lead.email() == "grace.hopper@example.com");
    CHECK(lead.country() == "US");
    CHECK(lead.source() == "trade_show");
    CHECK(lead.status() == lv1::LEAD_STATUS_NEW);
    CHECK(lead.capture_channel() == lv1::CAPTURE_CHANNEL_API);
    CHECK(lead.version() == 1);
    CHECK_FALSE(lead.etag().empty());

    auto retry = api.CreateLead(req);
    REQUIRE(retry.ok());
    CHECK(retry.response.lead().id() == lead.id());
    CHECK(CountLeads(tenant) == "1");

    lv1::CreateLeadRequest twin;
    twin.mutable_lead()->set_given_name("Other");
    twin.mutable_lead()->set_email("grace.hopper@EXAMPLE.com");
    auto dup = api.CreateLead(twin);
    CHECK(dup.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorReason(dup.status) == "DUPLICATE_LEAD");
    CHECK(dup.status.error_message().find(lead.id()) != std::string::npos);
    CHECK(ErrorMetadata(dup.status, "existing_id") == lead.id());
    CHECK(CountLeads(tenant) == "1");

    // Once the lead is closed (unqualified), the address may come back as a new lead.
    api.MustMove(lead.id(), {lv1::LEAD_STATUS_UNQUALIFIED});
    auto again = api.CreateLead(twin);
    INFO(again.status.error_message());
    CHECK(again.ok());

    // One event per change: created, status changed, created; envelope filled in. Order holds per aggregate.
    auto all = tap.WaitFor(tenant, 3, std::chrono::seconds(30));
    CHECK(all.size() == 3);
    std::vector<ReceivedEvent> events;
    for (const auto& e : all) {
        if (e.envelope.aggregate_id() == lead.id()) events.push_back(e);
    }
    REQUIRE(events.size() == 2);
    const auto& env = events[0].envelope;
    CHECK(env.event_type() == "crm.leads.events.v1.LeadCreated");
    CHECK(env.source() == "leads");
    CHECK(env.tenant_id() == tenant);
    CHECK(env.aggregate_type() == "lead");
    CHECK(env.aggregate_id() == lead.id());
    CHECK(env.aggregate_version() == 1);
    CHECK(env.occurred_at().seconds() > 0);
    CHECK(crm::common::IsUuid(env.event_id()));
    CHECK(events[0].key == lead.id());
    lev1::LeadCreated created;
    REQUIRE(env.payload().UnpackTo(&created));
    CHECK(created.lead().source() == "trade_show");
    CHECK(created.lead().campaign_id() == "cmp-42");
    CHECK(created.lead().priority() == lv1::LEAD_PRIORITY_HIGH);
    CHECK(events[1].envelope.event_type() == "crm.leads.events.v1.LeadStatusChanged");
    CHECK(events[1].envelope.aggregate_version() == 2);
    lev1::LeadStatusChanged changed;
    REQUIRE(events[1].envelope.payload().UnpackTo(&changed));
    CHECK(changed.from_status() == lv1::LEAD_STATUS_NEW);
    CHECK(changed.to_status() == lv1::LEAD_STATUS_UNQUALIFIED);
    CHECK(changed.first_touch());
    CHECK(changed.lead().has_first_touch_time());
}

TEST_CASE("leads: bad input on every RPC is INVALID_ARGUMENT with field violations and writes nothing",
          "[integration][leads]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    const lv1::Lead lead = api.MustCreate("Ann", Email("ann"));

    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_email("nope");
    create.mutable_lead()->set_country("Germany");
    create.mutable_lead()->set_phone("call me maybe");
    create.set_request_id("has spaces");
    auto r1 = api.CreateLead(create);
    CHECK(r1.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(r1.status, "lead.email"));
    CHECK(HasViolation(r1.status, "lead.country"));
    CHECK(HasViolation(r1.status, "lead.phone"));
    CHECK(HasViolation(r1.status, "request_id"));
    auto r1b = api.CreateLead(lv1::CreateLeadRequest{});
    CHECK(HasViolation(r1b.status, "lead.email"));

    lv1::GetLeadRequest get;
    get.set_id("not-a-uuid");
    CHECK(HasViolation(api.GetLead(get).status, "id"));

    lv1::ListLeadsRequest list;
    list.set_page_size(-1);
    CHECK(HasViolation(api.ListLeads(list).status, "page_size"));
    list.set_page_size(10);
    list.set_page_token("garbage");
    CHECK(HasViolation(api.ListLeads(list).status, "page_token"));

    lv1::UpdateLeadRequest update;
    update.mutable_lead()->set_id(lead.id());
    update.mutable_lead()->set_email("bad@");
    update.mutable_update_mask()->add_paths("email");
    update.mutable_update_mask()->add_paths("status");
    auto r4 = api.UpdateLead(update);
    CHECK(HasViolation(r4.status, "lead.email"));
    CHECK(HasViolation(r4.status, "update_mask"));

    lv1::ChangeLeadStatusRequest status;
    status.set_id(lead.id());
    CHECK(HasViolation(api.ChangeLeadStatus(status).status, "status"));
    status.set_status(lv1::LEAD_STATUS_CONVERTED);
    CHECK(HasViolation(api.ChangeLeadStatus(status).status, "status"));

    lv1::RecordEngagementRequest engage;
    engage.set_lead_id(lead.id());
    engage.mutable_engagement()->set_type("White Paper");
    CHECK(HasViolation(api.RecordEngagement(engage).status, "engagement.type"));
    CHECK(HasViolation(api.RecordEngagement(engage).status, "engagement.direction"));

    lv1::UpdateScoringRulesRequest rules;
    auto* rule = rules.mutable_scoring_rules()->add_rules();
    rule->set_weight(5000);
    CHECK(HasViolation(api.UpdateScoringRules(rules).status, "scoring_rules.rules[0].weight"));
    CHECK(HasViolation(api.UpdateScoringRules(rules).status, "scoring_rules.rules[0].condition"));

    lv1::TrainScoringModelRequest train;
    train.set_min_examples_per_class(2);
    CHECK(HasViolation(api.TrainScoringModel(train).status, "min_examples_per_class"));

    lv1::PredictLeadConversionRequest predict;
    predict.set_lead_id("x");
    predict.set_top_factors(99);
    CHECK(HasViolation(api.PredictLeadConversion(predict).status, "lead_id"));
    CHECK(HasViolation(api.PredictLeadConversion(predict).status, "top_factors"));

    lv1::UpdateAssignmentConfigRequest config;
    auto* team = config.mutable_assignment_config()->add_teams();
    team->set_id("Bad Id");
    config.mutable_assignment_config()->add_rules()->set_team_id("nobody");
    config.mutable_assignment_config()->add_sla_policies()->set_first_touch_minutes(0);
    auto r9 = api.UpdateAssignmentConfig(config);
    CHECK(HasViolation(r9.status, "assignment_config.teams[0].id"));
    CHECK(HasViolation(r9.status, "assignment_config.teams[0].members"));
    CHECK(HasViolation(r9.status, "assignment_config.rules[0].team_id"));
    CHECK(HasViolation(r9.status, "assignment_config.sla_policies[0].priority"));
    CHECK(HasViolation(r9.status, "assignment_config.sla_policies[0].first_touch_minutes"));

    lv1::AssignLeadRequest assign;
    assign.set_id("nope");
    assign.set_owner_id(std::string(200, 'x'));
    CHECK(HasViolation(api.AssignLead(assign).status, "id"));
    CHECK(HasViolation(api.AssignLead(assign).status, "owner_id"));

    lv1::ConvertLeadRequest convert;
    convert.set_id(lead.id());
    convert.set_create_opportunity(true);
    convert.mutable_opportunity()->mutable_amount()->set_amount_minor(-1);
    auto r11 = api.ConvertLead(convert);
    CHECK(HasViolation(r11.status, "opportunity.name"));
    CHECK(HasViolation(r11.status, "opportunity.amount.amount_minor"));
    CHECK(HasViolation(r11.status, "opportunity.amount.currency_code"));

    lv1::UpsertWebFormRequest form;
    form.mutable_web_form()->set_id("Contact Us");
    (*form.mutable_web_form()->mutable_field_mapping())["x"] = "password";
    auto r12 = api.UpsertWebForm(form);
    CHECK(HasViolation(r12.status, "web_form.id"));
    CHECK(HasViolation(r12.status, "web_form.field_mapping"));
    CHECK(HasViolation(r12.status, "web_form.consent_text"));
    CHECK(HasViolation(r12.status, "web_form.consent_version"));

    lv1::GetWebFormRequest get_form;
    get_form.set_id("Bad!");
    CHECK(HasViolation(api.GetWebForm(get_form).status, "id"));
    lv1::IssueWebFormTokenRequest issue;
    CHECK(HasViolation(api.IssueWebFormToken(issue).status, "form_id"));
    lv1::SubmitWebFormRequest submit;
    CHECK(HasViolation(api.SubmitWebForm(submit).status, "form_id"));

    std::vector<lv1::ImportLeadsRequest> too_many(10001);
    for (auto& row : too_many) row.mutable_lead()->set_given_name("x");
    auto r13 = api.ImportLeads(too_many);
    CHECK(r13.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);

    // Nothing was written by any of these calls.
    CHECK(CountLeads(tenant) == "1");
    CHECK(QueryScalar("leads", "SELECT count(*) FROM tenant_settings WHERE tenant_id = '" + tenant + "'") == "0");
    CHECK(QueryScalar("leads", "SELECT count(*) FROM web_forms WHERE tenant_id = '" + tenant + "'") == "0");
    CHECK(QueryScalar("leads", "SELECT count(*) FROM lead_engagements WHERE tenant_id = '" + tenant + "'") == "0");
    CHECK(QueryScalar("leads", "SELECT version FROM leads WHERE id = '" + lead.id() + "'") == "1");
}

TEST_CASE("leads: another tenant's lead is NOT_FOUND on every RPC and stays unchanged", "[integration][leads]") {
    const std::string owner_tenant = UniqueTenant();
    const std::string other_tenant = UniqueTenant();
    LeadsClient owner(TokenFor(owner_tenant));
    LeadsClient other(TokenFor(other_tenant));
    const lv1::Lead lead = owner.MustCreate("Private", Email("private"));
    owner.MustMove(lead.id(), {lv1::LEAD_STATUS_WORKING});

    auto not_found = [](const grpc::Status& s) { return s.error_code() == grpc::StatusCode::NOT_FOUND; };
    lv1::GetLeadRequest get;
    get.set_id(lead.id());
    CHECK(not_found(other.GetLead(get).status));
    lv1::UpdateLeadRequest update;
    update.mutable_lead()->set_id(lead.id());
    update.mutable_lead()->set_notes("hijack");
    CHECK(not_found(other.UpdateLead(update).status));
    lv1::ChangeLeadStatusRequest status;
    status.set_id(lead.id());
    status.set_status(lv1::LEAD_STATUS_QUALIFIED);
    CHECK(not_found(other.ChangeLeadStatus(status).status));
    lv1::RecordEngagementRequest engage;
    engage.set_lead_id(lead.id());
    engage.mutable_engagement()->set_type("call");
    engage.mutable_engagement()->set_direction(lv1::ENGAGEMENT_DIRECTION_OUTBOUND);
    CHECK(not_found(other.RecordEngagement(engage).status));
    lv1::AssignLeadRequest assign;
    assign.set_id(lead.id());
    assign.set_owner_id("intruder");
    CHECK(not_found(other.AssignLead(assign).status));
    lv1::ConvertLeadRequest convert;
    convert.set_id(lead.id());
    convert.set_allow_unqualified(true);
    CHECK(not_found(other.ConvertLead(convert).status));
    lv1::PredictLeadConversionRequest predict;
    predict.set_lead_id(lead.id());
    CHECK(not_found(other.PredictLeadConversion(predict).status));
    CHECK(other.ListLeads(lv1::ListLeadsRequest{}).response.leads_size() == 0);

    // Per-tenant configuration is invisible across tenants too.
    lv1::UpsertWebFormRequest form;
    form.mutable_web_form()->set_id("private-form");
    form.mutable_web_form()->set_consent_text("I agree");
    form.mutable_web_form()->set_consent_version("v1");
    REQUIRE(owner.UpsertWebForm(form).ok());
    lv1::GetWebFormRequest get_form;
    get_form.set_id("private-form");
    CHECK(not_found(other.GetWebForm(get_form).status));
    lv1::IssueWebFormTokenRequest issue;
    issue.set_form_id("private-form");
    CHECK(not_found(other.IssueWebFormToken(issue).status));
    lv1::UpdateScoringRulesRequest rules;
    auto* rule = rules.mutable_scoring_rules()->add_rules();
    rule->set_name("owner's rule");
    rule->mutable_engagement()->set_type("demo");
    rule->set_weight(10);
    REQUIRE(owner.UpdateScoringRules(rules).ok());
    CHECK(other.GetScoringRules(lv1::GetScoringRulesRequest{}).response.scoring_rules().rules_size() == 0);

    auto still = owner.GetLead(get);
    REQUIRE(still.ok());
    CHECK(still.response.lead().version() == 2);
    CHECK(still.response.lead().owner_id().empty());
    CHECK(still.response.lead().notes().empty());
}

TEST_CASE("leads: list pages by creation with filters", "[integration][leads]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    std::set<std::string> web;
    for (int i = 0; i < 7; ++i) {
        const auto l = api.MustCreate("L" + std::to_string(i), Email("l"), i % 2 == 0 ? "web" : "referral");
        if (i % 2 == 0) web.insert(l.id());
    }
    lv1::ListLeadsRequest req;
    req.set_page_size(2);
    req.set_source("WEB");
    std::set<std::string> seen;
    int pages = 0;
    do {
        auto r = api.ListLeads(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        for (const auto& l : r.response.leads()) CHECK(seen.insert(l.id()).second);
        req.set_page_token(r.response.next_page_token());
        ++pages;
    } while (!req.page_token().empty() && pages < 10);
    CHECK(seen == web);
    CHECK(pages == 2);
    // A token is bound to its filters.
    lv1::ListLeadsRequest first;
    first.set_page_size(1);
    auto p1 = api.ListLeads(first);
    REQUIRE(p1.ok());
    lv1::ListLeadsRequest changed;
    changed.set_page_token(p1.response.next_page_token());
    changed.set_source("referral");
    CHECK(HasViolation(api.ListLeads(changed).status, "page_token"));
}

TEST_CASE("leads: import streams rows and reports created, duplicate and invalid per row, each row atomic",
          "[integration][leads]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    EventTap tap("crm.leads.v1");
    const std::string existing_email = Email("existing");
    const lv1::Lead existing = api.MustCreate("Existing", existing_email);

    std::vector<lv1::ImportLeadsRequest> rows(6);
    rows[0].mutable_lead()->set_given_name("New One");
    rows[0].mutable_lead()->set_email(Email("one"));
    rows[1].mutable_lead()->set_email("not-an-email");          // invalid
    rows[2].mutable_lead()->set_email(existing_email);          // duplicate of a stored lead
    rows[3].mutable_lead()->set_email(rows[0].lead().email());  // duplicate within the import
    rows[4].mutable_lead()->set_given_name("Two");
    rows[4].mutable_lead()->set_country("Nowhere");  // invalid
    rows[5].mutable_lead()->set_given_name("Three");
    rows[5].mutable_lead()->set_phone("+49 30 1234567");
    auto r = api.ImportLeads(rows);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    REQUIRE(r.response.results_size() == 6);
    const auto& res = r.response.results();
    CHECK(res[0].outcome() == lv1::IMPORT_OUTCOME_CREATED);
    CHECK(res[1].outcome() == lv1::IMPORT_OUTCOME_INVALID);
    REQUIRE(res[1].reasons_size() >= 1);
    CHECK(res[1].reasons(0).rfind("lead.email:", 0) == 0);
    CHECK(res[2].outcome() == lv1::IMPORT_OUTCOME_DUPLICATE);
    CHECK(res[2].existing_lead_id() == existing.id());
    CHECK(res[3].outcome() == lv1::IMPORT_OUTCOME_DUPLICATE);
    CHECK(res[3].existing_lead_id() == res[0].lead_id());
    CHECK(res[4].outcome() == lv1::IMPORT_OUTCOME_INVALID);
    CHECK(res[5].outcome() == lv1::IMPORT_OUTCOME_CREATED);
    for (int i = 0; i < 6; ++i) CHECK(res[i].row() == i);
    CHECK(r.response.created_count() == 2);
    CHECK(r.response.duplicate_count() == 2);
    CHECK(r.response.invalid_count() == 2);
    CHECK(CountLeads(tenant) == "3");
    CHECK(CountLeads(tenant, "capture_channel = 'IMPORT'") == "2");
    // Exactly one LeadCreated per created row (plus the one of the existing lead).
    auto events = tap.WaitFor(tenant, 3, std::chrono::seconds(30));
    CHECK(events.size() == 3);
}

namespace {
// A web form definition for `tenant`, created through the gateway by an admin.
void DefineForm(LeadsClient& admin, const std::string& id, int min_fill_seconds) {
    lv1::UpsertWebFormRequest req;
    auto* f = req.mutable_web_form();
    f->set_id(id);
    f->set_name("Contact us");
    (*f->mutable_field_mapping())["first"] = "given_name";
    (*f->mutable_field_mapping())["last"] = "family_name";
    (*f->mutable_field_mapping())["mail"] = "email";
    (*f->mutable_field_mapping())["size"] = "attributes.employees";
    f->set_default_source("Website");
    f->set_default_campaign_id("spring-launch");
    f->set_default_priority(lv1::LEAD_PRIORITY_HIGH);
    f->set_consent_text("I agree to be contacted about ACME products.");
    f->set_consent_version("2026-01");
    f->set_min_fill_seconds(min_fill_seconds);
    auto r = admin.UpsertWebForm(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    CHECK(r.response.web_form().default_source() == "website");
}

lv1::SubmitWebFormRequest Submission(const std::string& form, const std::string& token, const std::string& email) {
    lv1::SubmitWebFormRequest req;
    req.set_form_id(form);
    req.set_form_token(token);
    (*req.mutable_fields())["first"] = "Web";
    (*req.mutable_fields())["last"] = "Visitor";
    (*req.mutable_fields())["mail"] = email;
    (*req.mutable_fields())["size"] = "250";
    (*req.mutable_fields())["ignored"] = "not mapped";
    req.set_consent_granted(true);
    req.set_consent_text("I agree to be contacted about ACME products.");
    req.set_consent_version("2026-01");
    return req;
}
}  // namespace

TEST_CASE("leads: web form submissions need consent and a fresh, unused, slow enough token, and bots are refused",
          "[integration][leads][webform]") {
    const std::string tenant = UniqueTenant();
    LeadsClient admin(TokenFor(tenant));
    DefineForm(admin, "contact-us", 2);
    // The role the gateway gives a web-form API key; called directly on the service with a signed identity.
    LeadsClient form(SignedIdentity(tenant, {"web_form"}), DirectChannel("CRM_TEST_LEADS"));
    EventTap tap("crm.leads.v1");

    lv1::IssueWebFormTokenRequest issue;
    issue.set_form_id("contact-us");
    auto token = form.IssueWebFormToken(issue);
    INFO(token.status.error_message());
    REQUIRE(token.ok());
    CHECK(token.response.consent_version() == "2026-01");
    const std::string email = Email("visitor");

    // Too fast: submitted right after rendering (the minimum is 2 s, and token ages are counted in milliseconds).
    auto fast = form.SubmitWebForm(Submission("contact-us", token.response.form_token(), email));
    CHECK(fast.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(fast.status) == "BOT");
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));

    auto honeypot = Submission("contact-us", token.response.form_token(), email);
    honeypot.set_honeypot("http://spam.example");
    CHECK(ErrorReason(form.SubmitWebForm(honeypot).status) == "BOT");
    CHECK(ErrorReason(form.SubmitWebForm(Submission("contact-us", "forged.token", email)).status) == "BOT");
    std::string tampered = token.response.form_token();
    tampered[3] = tampered[3] == 'a' ? 'b' : 'a';
    CHECK(ErrorReason(form.SubmitWebForm(Submission("contact-us", tampered, email)).status) == "BOT");
    // A token of another tenant's form does not pass here.
    const std::string other_tenant = UniqueTenant();
    LeadsClient other_admin(TokenFor(other_tenant));
    DefineForm(other_admin, "contact-us", 2);
    LeadsClient other_form(SignedIdentity(other_tenant, {"web_form"}), DirectChannel("CRM_TEST_LEADS"));
    auto foreign = other_form.IssueWebFormToken(issue);
    REQUIRE(foreign.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    CHECK(ErrorReason(form.SubmitWebForm(Submission("contact-us", foreign.response.form_token(), email)).status) ==
          "BOT");

    auto no_consent = Submission("contact-us", token.response.form_token(), email);
    no_consent.set_consent_granted(false);
    no_consent.set_consent_version("2025-01");
    auto nc = form.SubmitWebForm(no_consent);
    CHECK(nc.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(nc.status, "consent_granted"));
    CHECK(HasViolation(nc.status, "consent_version"));
    auto bad_mail = form.SubmitWebForm(Submission("contact-us", token.response.form_token(), "no-at-sign"));
    CHECK(HasViolation(bad_mail.status, "fields.mail"));
    CHECK(CountLeads(tenant) == "0");

    auto ok = form.SubmitWebForm(Submission("contact-us", token.response.form_token(), email));
    INFO(ok.status.error_message());
    REQUIRE(ok.ok());
    CHECK(ok.response.created());
    // The same token again: refused (a token is valid once).
    CHECK(ErrorReason(form.SubmitWebForm(Submission("contact-us", token.response.form_token(), email)).status) ==
          "BOT");

    lv1::GetLeadRequest get;
    get.set_id(ok.response.lead_id());
    auto lead = admin.GetLead(get);
    REQUIRE(lead.ok());
    const auto& l = lead.response.lead();
    CHECK(l.capture_channel() == lv1::CAPTURE_CHANNEL_WEB_FORM);
    CHECK(l.web_form_id() == "contact-us");
    CHECK(l.source() == "website");
    CHECK(l.campaign_id() == "spring-launch");
    CHECK(l.priority() == lv1::LEAD_PRIORITY_HIGH);
    CHECK(l.attributes().at("employees") == "250");
    CHECK(l.consent().granted());
    CHECK(l.consent().version() == "2026-01");
    CHECK(l.consent().capture_time().seconds() > 0);

    // A second submission of the same person is an engagement on the open lead, not a duplicate lead.
    auto token2 = form.IssueWebFormToken(issue);
    REQUIRE(token2.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    auto again = form.SubmitWebForm(Submission("contact-us", token2.response.form_token(), email));
    REQUIRE(again.ok());
    CHECK_FALSE(again.response.created());
    CHECK(again.response.lead_id() == l.id());
    CHECK(CountLeads(tenant) == "1");
    CHECK(QueryScalar("leads", "SELECT count(*) FROM lead_engagements WHERE tenant_id = '" + tenant +
                                   "' AND type = 'web_form_submitted'") == "1");
    auto events = tap.WaitFor(tenant, 2, std::chrono::seconds(30));
    REQUIRE(events.size() == 2);
    CHECK(events[0].envelope.event_type() == "crm.leads.events.v1.LeadCreated");
    CHECK(events[1].envelope.event_type() == "crm.leads.events.v1.LeadEngagementRecorded");
}

TEST_CASE(
    "leads: the web form through the gateway with a web_form API key: the key fixes the tenant, grants only "
    "the form, and its own rate limit applies",
    "[integration][leads][webform][api_keys]") {
    namespace gv1 = crm::gateway::v1;
    const std::string tenant = UniqueTenant();
    const std::string admin_token = TokenFor(tenant);
    LeadsClient admin(admin_token);
    DefineForm(admin, "newsletter", 1);

    auto keys = gv1::ApiKeysService::NewStub(GatewayChannel());
    auto create_key = [&](double rate, int burst) {
        gv1::CreateApiKeyRequest req;
        req.mutable_api_key()->set_display_name("website form");
        req.mutable_api_key()->add_roles("web_form");
        if (burst > 0) {
            req.mutable_api_key()->mutable_rate_limit()->set_rate_per_second(rate);
            req.mutable_api_key()->mutable_rate_limit()->set_burst(burst);
        }
        gv1::CreateApiKeyResponse resp;
        grpc::ClientContext ctx;
        Prepare(ctx, admin_token);
        const grpc::Status s = keys->CreateApiKey(&ctx, req, &resp);
        INFO(s.error_message());
        REQUIRE(s.ok());
        return resp.key();
    };
    const std::string key = create_key(0, 0);
    const std::map<std::string, std::string> with_key = {{"x-api-key", key}};
    LeadsClient site("");  // no bearer token: the API key is the credential

    lv1::IssueWebFormTokenRequest issue;
    issue.set_form_id("newsletter");
    auto token = site.IssueWebFormToken(issue, with_key);
    INFO(token.status.error_message());
    REQUIRE(token.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const std::string email = Email("subscriber");
    auto submitted = site.SubmitWebForm(Submission("newsletter", token.response.form_token(), email), with_key);
    INFO(submitted.status.error_message());
    REQUIRE(submitted.ok());
    CHECK(submitted.response.created());

    // The lead belongs to the key's tenant.
    lv1::GetLeadRequest get;
    get.set_id(submitted.response.lead_id());
    auto lead = admin.GetLead(get);
    REQUIRE(lead.ok());
    CHECK(lead.response.lead().email() == email);
    CHECK(lead.response.lead().capture_channel() == lv1::CAPTURE_CHANNEL_WEB_FORM);

    // The key grants the form and nothing else.
    CHECK(site.GetLead(get, with_key).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_email(Email("direct"));
    CHECK(site.CreateLead(create, with_key).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    lv1::GetWebFormRequest get_form;
    get_form.set_id("newsletter");
    CHECK(site.GetWebForm(get_form, with_key).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(CountLeads(tenant) == "1");

    // A key with a tight limit (burst 2, 0.1/s) is throttled by the gateway: the form's rate limit.
    const std::map<std::string, std::string> tight = {{"x-api-key", create_key(0.1, 2)}};
    int ok = 0, throttled = 0;
    for (int i = 0; i < 4; ++i) {
        auto r = site.IssueWebFormToken(issue, tight);
        if (r.ok()) ++ok;
        if (r.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++throttled;
    }
    CHECK(ok == 2);
    CHECK(throttled == 2);
}

TEST_CASE("leads: the service drops web-form nonces used more than two days ago and idempotency keys older than a week",
          "[integration][leads][webform][cleanup]") {
    const std::string tenant = UniqueTenant();
    const std::string other = UniqueTenant();
    auto exec = [](const std::string& sql) { QueryScalar("leads", sql); };
    exec("INSERT INTO web_form_tokens_used (tenant_id, nonce, use_time) VALUES ('" + tenant +
         "', 'old', now() - interval '3 days'), ('" + tenant + "', 'recent', now() - interval '1 day'), ('" + other +
         "', 'old', now() - interval '50 hours')");
    exec("INSERT INTO idempotency_keys (tenant_id, operation, request_id, resource_id, create_time) VALUES ('" +
         tenant + "', 'CreateLead', 'old', gen_random_uuid(), now() - interval '8 days'), ('" + tenant +
         "', 'CreateLead', 'recent', gen_random_uuid(), now() - interval '2 days')");
    StackCommand("start-apps");  // the cleanup runs when the service starts, then hourly

    auto count = [&](const std::string& table, const std::string& t) {
        return QueryScalar("leads", "SELECT count(*) FROM " + table + " WHERE tenant_id = '" + t + "'");
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count("web_form_tokens_used", tenant) != "1" && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    CHECK(QueryScalar("leads", "SELECT string_agg(nonce, ',') FROM web_form_tokens_used WHERE tenant_id = '" + tenant +
                                   "'") == "recent");
    CHECK(count("web_form_tokens_used", other) == "0");
    CHECK(QueryScalar("leads", "SELECT string_agg(request_id, ',') FROM idempotency_keys WHERE tenant_id = '" + tenant +
                                   "'") == "recent");
}
