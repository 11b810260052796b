// Retention policies as users reach them (issue 15, deliverable 5): a privacy officer sets a tenant's policy for a
// service's rule through the gateway, a dry run counts, a run deletes or anonymises exactly the aged rows of that
// tenant (nothing of another tenant, nothing younger, nothing converted or open), publishes RetentionApplied with the
// ids and leaves an audit row; a repeated run touches nothing twice; bad input and roles are refused.
#include <crm/audit/v1/audit.grpc.pb.h>
#include <crm/privacy/v1/retention.grpc.pb.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/harness.hpp"
#include "../support/leads_client.hpp"
#include "../support/marketing_client.hpp"
#include "../support/sales_client.hpp"
#include "../support/wait.hpp"

using namespace crm::test;
namespace pv1 = crm::privacy::v1;
namespace av1 = crm::audit::v1;
namespace sv1 = crm::sales::v1;

namespace {

template <class Resp>
struct Answer {
    grpc::Status status;
    Resp response;
    bool ok() const { return status.ok(); }
};

struct RetentionApi {
    std::string token;
    std::shared_ptr<grpc::Channel> channel = GatewayChannel();
    std::map<std::string, std::string> identity;  // for calls straight to a service

    template <class Req, class Resp, class Call>
    Answer<Resp> Do(const char* method, const Req& req, Call call) {
        Answer<Resp> a;
        grpc::ClientContext ctx;
        PrepareFor(ctx, RpcName<pv1::RetentionService>(method), token, identity, std::chrono::seconds(60));
        auto stub = pv1::RetentionService::NewStub(channel);
        a.status = ((*stub).*call)(&ctx, req, &a.response);
        return a;
    }
    Answer<pv1::SetRetentionPolicyResponse> Set(const std::string& service, const std::string& rule, int days,
                                                pv1::RetentionAction action, bool enabled = true) {
        pv1::SetRetentionPolicyRequest req;
        req.set_service(service);
        req.set_rule(rule);
        req.set_max_age_days(days);
        req.set_action(action);
        req.set_enabled(enabled);
        return Do<pv1::SetRetentionPolicyRequest, pv1::SetRetentionPolicyResponse>(
            "SetRetentionPolicy", req, &pv1::RetentionService::Stub::SetRetentionPolicy);
    }
    Answer<pv1::RunRetentionResponse> Run(const std::string& service, const std::string& rule, bool dry_run,
                                          const std::string& request_id = "") {
        pv1::RunRetentionRequest req;
        req.set_service(service);
        req.set_rule(rule);
        req.set_dry_run(dry_run);
        req.set_request_id(request_id);
        return Do<pv1::RunRetentionRequest, pv1::RunRetentionResponse>("RunRetention", req,
                                                                       &pv1::RetentionService::Stub::RunRetention);
    }
    Answer<pv1::ListRetentionRulesResponse> Rules(const std::string& service) {
        pv1::ListRetentionRulesRequest req;
        req.set_service(service);
        return Do<pv1::ListRetentionRulesRequest, pv1::ListRetentionRulesResponse>(
            "ListRetentionRules", req, &pv1::RetentionService::Stub::ListRetentionRules);
    }
    Answer<pv1::ListRetentionRunsResponse> Runs(const std::string& service, int page_size,
                                                const std::string& token_ = "") {
        pv1::ListRetentionRunsRequest req;
        req.set_service(service);
        req.set_page_size(page_size);
        req.set_page_token(token_);
        return Do<pv1::ListRetentionRunsRequest, pv1::ListRetentionRunsResponse>(
            "ListRetentionRuns", req, &pv1::RetentionService::Stub::ListRetentionRuns);
    }
};

std::string OfficerToken(const std::string& tenant) {
    TokenSpec spec;
    spec.tenant = tenant;
    spec.user = "officer-1";
    spec.roles = {"privacy_officer"};
    return MintToken(spec);
}

// Makes a lead look last changed `days` ago (as the database owner: the app role has no such power).
void AgeLead(const std::string& id, int days) {
    QueryScalar("leads", "UPDATE leads SET update_time = now() - interval '" + std::to_string(days) +
                             " days' WHERE id = '" + id + "' RETURNING 1");
}

std::string LeadsOf(const std::string& tenant) {
    return QueryScalar("leads",
                       "SELECT string_agg(id::text, ',' ORDER BY id) FROM leads WHERE tenant_id = '" + tenant + "'");
}

std::string Joined(std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
    return out;
}

}  // namespace

TEST_CASE("retention: unconverted leads past the policy are deleted with their engagements, only those, once",
          "[integration][retention]") {
    const std::string tenant = UniqueTenant("ret");
    const std::string other = UniqueTenant("ret");
    LeadsClient leads(TokenFor(tenant, {"admin"}));
    LeadsClient other_leads(TokenFor(other, {"admin"}));
    RetentionApi api{OfficerToken(tenant)};

    // Aged: two open leads (one with an engagement). Kept: an aged converted lead, two recent ones, another tenant's.
    const auto aged1 = leads.MustCreate("Old", "old1@example.com");
    const auto aged2 = leads.MustCreate("Older", "old2@example.com");
    const auto recent = leads.MustCreate("New", "new@example.com");
    const auto converted = leads.MustCreate("Won", "won@example.com");
    const auto just_younger = leads.MustCreate("Edge", "edge@example.com");
    const auto foreign = other_leads.MustCreate("Foreign", "foreign@example.com");
    lv1::RecordEngagementRequest engagement;
    engagement.set_lead_id(aged1.id());
    engagement.mutable_engagement()->set_type("whitepaper_download");
    engagement.mutable_engagement()->set_direction(lv1::ENGAGEMENT_DIRECTION_INBOUND);
    engagement.mutable_engagement()->set_detail("Pricing guide");
    REQUIRE(leads.RecordEngagement(engagement).ok());
    // Marketing's audience holds the leads (from leads' events) before the run, and drops the removed ones after it.
    MarketingClient marketing(TokenFor(tenant, {"admin"}));
    const auto in_audience = [&](const std::string& id) {
        mv1::GetAudienceMemberRequest get;
        get.set_id(id);
        return marketing.GetAudienceMember(get).status.error_code();
    };
    CHECK(Eventually([&] { return in_audience(aged2.id()) == grpc::StatusCode::OK; }));
    CHECK(Eventually([&] { return in_audience(recent.id()) == grpc::StatusCode::OK; }));
    AgeLead(aged1.id(), 200);
    AgeLead(aged2.id(), 91);
    AgeLead(just_younger.id(), 89);
    AgeLead(foreign.id(), 400);
    QueryScalar("leads",
                "UPDATE leads SET status = 'CONVERTED', convert_time = now() - interval '300 days', "
                "update_time = now() - interval '300 days' WHERE id = '" +
                    converted.id() + "' RETURNING 1");

    // The rules the service offers, without a policy yet; a run without a policy is refused.
    auto rules = api.Rules("leads");
    INFO(rules.status.error_message());
    REQUIRE(rules.ok());
    std::set<std::string> names;
    for (const auto& r : rules.response.rules()) {
        names.insert(r.name());
        CHECK_FALSE(r.has_policy());
    }
    CHECK(names == std::set<std::string>{"idempotency_keys", "processed_events", "unconverted_leads"});
    auto refused = api.Run("leads", "unconverted_leads", true);
    CHECK(refused.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(refused.status) == "NO_POLICY");

    auto set = api.Set("leads", "unconverted_leads", 90, pv1::RETENTION_ACTION_DELETE);
    INFO(set.status.error_message());
    REQUIRE(set.ok());
    CHECK(set.response.rule().policy().max_age_days() == 90);
    CHECK(set.response.rule().policy().action() == pv1::RETENTION_ACTION_DELETE);
    CHECK(set.response.rule().policy().enabled());

    // Every lead has its data key (its events' personal fields are sealed under it).
    const auto has_key = [&](const std::string& id) {
        return QueryScalar("leads", "SELECT count(*) FROM crm_subject_keys WHERE subject_id = '" + id + "'") == "1";
    };
    CHECK(has_key(aged1.id()));
    CHECK(has_key(aged2.id()));
    const std::string before = LeadsOf(tenant);
    auto dry = api.Run("leads", "unconverted_leads", true);
    INFO(dry.status.error_message());
    REQUIRE(dry.ok());
    REQUIRE(dry.response.runs_size() == 1);
    CHECK(dry.response.runs(0).dry_run());
    CHECK(dry.response.runs(0).rows() == 2);
    CHECK(LeadsOf(tenant) == before);  // a dry run changes nothing

    EventTap tap("crm.leads.v1");
    tap.Keep(
        [](const crm::common::v1::EventEnvelope& e) { return e.event_type() == "crm.privacy.v1.RetentionApplied"; });
    auto run = api.Run("leads", "unconverted_leads", false, "retention-run-1");
    INFO(run.status.error_message());
    REQUIRE(run.ok());
    REQUIRE(run.response.runs_size() == 1);
    const auto& result = run.response.runs(0);
    CHECK_FALSE(result.dry_run());
    CHECK(result.rows() == 2);
    CHECK(result.trigger() == "rpc");
    CHECK(result.service() == "leads");
    CHECK(LeadsOf(tenant) == Joined({recent.id(), converted.id(), just_younger.id()}));
    CHECK(QueryScalar("leads", "SELECT count(*) FROM lead_engagements WHERE lead_id = '" + aged1.id() + "'") == "0");
    CHECK(LeadsOf(other) == foreign.id());  // another tenant's aged lead is not this tenant's policy's
    // The deleted leads' events no longer open anywhere (their keys are gone); the kept leads' still do.
    CHECK_FALSE(has_key(aged1.id()));
    CHECK_FALSE(has_key(aged2.id()));
    CHECK(has_key(recent.id()));
    CHECK(has_key(foreign.id()));

    const auto events = tap.WaitFor(tenant, 1, std::chrono::seconds(20));
    REQUIRE(events.size() == 1);
    pv1::RetentionApplied applied;
    REQUIRE(events[0].envelope.payload().UnpackTo(&applied));
    CHECK(applied.run().run_id() == result.run_id());
    CHECK(applied.resource_type() == "lead");
    CHECK(Joined({applied.resource_ids().begin(), applied.resource_ids().end()}) == Joined({aged1.id(), aged2.id()}));
    CHECK(events[0].envelope.actor().user_id() == "officer-1");
    CHECK(Eventually([&] { return in_audience(aged2.id()) == grpc::StatusCode::NOT_FOUND; }));
    CHECK(in_audience(recent.id()) == grpc::StatusCode::OK);

    // The same request again answers the first run; a new run finds nothing left.
    auto repeat = api.Run("leads", "unconverted_leads", false, "retention-run-1");
    REQUIRE(repeat.ok());
    REQUIRE(repeat.response.runs_size() == 1);
    CHECK(repeat.response.runs(0).run_id() == result.run_id());
    auto again = api.Run("leads", "", false);
    REQUIRE(again.ok());
    REQUIRE(again.response.runs_size() == 1);
    CHECK(again.response.runs(0).rows() == 0);

    // Every run is listed, newest first, in pages; the policy shows its last run.
    auto page1 = api.Runs("leads", 2);
    INFO(page1.status.error_message());
    REQUIRE(page1.ok());
    REQUIRE(page1.response.runs_size() == 2);
    CHECK(page1.response.runs(0).run_id() == again.response.runs(0).run_id());
    CHECK(page1.response.runs(1).run_id() == result.run_id());
    auto page2 = api.Runs("leads", 2, page1.response.next_page_token());
    REQUIRE(page2.ok());
    REQUIRE(page2.response.runs_size() == 1);
    CHECK(page2.response.runs(0).dry_run());
    CHECK(page2.response.next_page_token().empty());
    auto listed = api.Rules("leads");
    REQUIRE(listed.ok());
    for (const auto& r : listed.response.rules()) {
        if (r.name() == "unconverted_leads") CHECK(r.policy().last_run_time().seconds() > 0);
    }

    // The run and the policy change are in the leads service's audit trail, with the officer as actor.
    auto audit_stub = av1::AuditService::NewStub(GatewayChannel());
    av1::ListAuditEventsRequest audit_req;
    audit_req.set_service("leads");
    av1::ListAuditEventsResponse audit;
    grpc::ClientContext ctx;
    Prepare(ctx, TokenFor(tenant, {"auditor"}));
    REQUIRE(audit_stub->ListAuditEvents(&ctx, audit_req, &audit).ok());
    std::set<std::string> rpcs;
    for (const auto& e : audit.events()) {
        if (e.resource_type() == "retention_run" || e.resource_type() == "retention_policy") {
            rpcs.insert(e.rpc());
            CHECK(e.actor().user_id() == "officer-1");
        }
    }
    CHECK(rpcs == std::set<std::string>{"RunRetention", "SetRetentionPolicy"});
}

TEST_CASE("retention: completed activities past the policy are anonymised, open ones and younger ones kept",
          "[integration][retention]") {
    const std::string tenant = UniqueTenant("ret");
    ContactsClient contacts(TokenFor(tenant, {"admin"}));
    SalesClient sales(TokenFor(tenant, {"admin"}));
    RetentionApi api{OfficerToken(tenant)};
    const auto person = contacts.MustCreate("Ada", "Activity");

    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) {
        sv1::CreateActivityRequest req;
        req.mutable_activity()->set_type(sv1::ACTIVITY_TYPE_CALL);
        req.mutable_activity()->set_subject("Call about the renewal " + std::to_string(i));
        req.mutable_activity()->set_description("Ada said her budget is tight");
        req.mutable_activity()->set_contact_id(person.id());
        auto r = sales.CreateActivity(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        ids.push_back(r.response.activity().id());
        if (i < 3) {
            sv1::CompleteActivityRequest done;
            done.set_id(ids.back());
            done.set_outcome("She will call back");
            REQUIRE(sales.CompleteActivity(done).ok());
        }
    }
    // ids[0] completed 400 days ago, ids[1] 10 days ago, ids[2] now, ids[3] open (created 400 days ago).
    QueryScalar("sales", "UPDATE activities SET complete_time = now() - interval '400 days' WHERE id = '" + ids[0] +
                             "' RETURNING 1");
    QueryScalar("sales", "UPDATE activities SET complete_time = now() - interval '10 days' WHERE id = '" + ids[1] +
                             "' RETURNING 1");
    QueryScalar("sales", "UPDATE activities SET create_time = now() - interval '400 days' WHERE id = '" + ids[3] +
                             "' RETURNING 1");

    REQUIRE(api.Set("sales", "completed_activities", 365, pv1::RETENTION_ACTION_ANONYMISE).ok());
    auto run = api.Run("sales", "completed_activities", false);
    INFO(run.status.error_message());
    REQUIRE(run.ok());
    REQUIRE(run.response.runs_size() == 1);
    CHECK(run.response.runs(0).rows() == 1);
    CHECK(run.response.runs(0).action() == pv1::RETENTION_ACTION_ANONYMISE);

    auto get = [&](const std::string& id) {
        sv1::GetActivityRequest req;
        req.set_id(id);
        auto r = sales.GetActivity(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.activity();
    };
    const auto blanked = get(ids[0]);
    CHECK(blanked.subject() == "(removed by retention)");
    CHECK(blanked.description().empty());
    CHECK(blanked.outcome().empty());
    CHECK(blanked.contact_id() == person.id());  // links and times stay
    CHECK(blanked.status() == sv1::ACTIVITY_STATUS_COMPLETED);
    for (int i = 1; i < 4; ++i) CHECK(get(ids[i]).description() == "Ada said her budget is tight");

    // Anonymised rows are not counted or touched again; a delete policy afterwards takes them.
    auto dry = api.Run("sales", "completed_activities", true);
    REQUIRE(dry.ok());
    CHECK(dry.response.runs(0).rows() == 0);
    REQUIRE(api.Set("sales", "completed_activities", 365, pv1::RETENTION_ACTION_DELETE).ok());
    auto count = api.Run("sales", "completed_activities", true);
    REQUIRE(count.ok());
    CHECK(count.response.runs(0).rows() == 1);
}

TEST_CASE("retention: the kit's idempotency rule removes only the tenant's old claims", "[integration][retention]") {
    const std::string tenant = UniqueTenant("ret");
    const std::string other = UniqueTenant("ret");
    ContactsClient mine(TokenFor(tenant, {"admin"}));
    ContactsClient theirs(TokenFor(other, {"admin"}));
    RetentionApi api{OfficerToken(tenant)};
    mine.MustCreate("Old", "Claim", "", "", "req-old-1");
    mine.MustCreate("Older", "Claimant", "", "", "req-old-2");
    mine.MustCreate("Newer", "Claimer", "", "", "req-new-1");
    theirs.MustCreate("Foreign", "Claim", "", "", "req-old-1");
    QueryScalar("contacts",
                "UPDATE idempotency_keys SET create_time = now() - interval '3 days' WHERE request_id "
                "LIKE 'req-old-%' AND tenant_id IN ('" +
                    tenant + "', '" + other + "') RETURNING 1");

    REQUIRE(api.Set("contacts", "idempotency_keys", 2, pv1::RETENTION_ACTION_DELETE).ok());
    auto run = api.Run("contacts", "idempotency_keys", false);
    INFO(run.status.error_message());
    REQUIRE(run.ok());
    REQUIRE(run.response.runs_size() == 1);
    CHECK(run.response.runs(0).rows() == 2);
    CHECK(QueryScalar("contacts",
                      "SELECT string_agg(request_id, ',' ORDER BY request_id) FROM idempotency_keys "
                      "WHERE tenant_id = '" +
                          tenant + "'") == "req-new-1");
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM idempotency_keys WHERE tenant_id = '" + other + "'") == "1");
}

TEST_CASE("retention: bad input names the field, other roles are refused, nothing is written",
          "[integration][retention]") {
    const std::string tenant = UniqueTenant("ret");
    RetentionApi api{OfficerToken(tenant)};

    auto unknown_service = api.Set("nosuch", "unconverted_leads", 90, pv1::RETENTION_ACTION_DELETE);
    CHECK(unknown_service.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(unknown_service.status, "service"));
    auto missing_service = api.Rules("");
    CHECK(missing_service.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(missing_service.status, "service"));

    auto bad = api.Set("leads", "no_such_rule", 0, pv1::RETENTION_ACTION_UNSPECIFIED);
    CHECK(bad.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(bad.status, "rule"));
    CHECK(HasViolation(bad.status, "action"));
    auto too_young = api.Set("leads", "unconverted_leads", 29, pv1::RETENTION_ACTION_DELETE);
    CHECK(HasViolation(too_young.status, "max_age_days"));
    auto too_old = api.Set("leads", "unconverted_leads", 36501, pv1::RETENTION_ACTION_DELETE);
    CHECK(HasViolation(too_old.status, "max_age_days"));
    auto not_allowed = api.Set("leads", "idempotency_keys", 10, pv1::RETENTION_ACTION_ANONYMISE);
    CHECK(HasViolation(not_allowed.status, "action"));
    auto hostile = api.Set("leads", std::string("unconverted_leads\0x", 19), 90, pv1::RETENTION_ACTION_DELETE);
    CHECK(HasViolation(hostile.status, "rule"));
    auto bad_request_id = api.Run("leads", "", true, "has space");
    CHECK(HasViolation(bad_request_id.status, "request_id"));
    auto bad_page = api.Runs("leads", -1);
    CHECK(HasViolation(bad_page.status, "page_size"));
    auto forged_page = api.Runs("leads", 2, "not-a-token");
    CHECK(HasViolation(forged_page.status, "page_token"));
    CHECK(QueryScalar("leads", "SELECT count(*) FROM crm_retention_policies WHERE tenant_id = '" + tenant + "'") ==
          "0");

    for (const char* role : {"sales_rep", "sales_manager", "auditor", "read_only", "marketer"}) {
        INFO(role);
        RetentionApi other{TokenFor(tenant, {role})};
        CHECK(other.Rules("leads").status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        CHECK(other.Set("leads", "unconverted_leads", 90, pv1::RETENTION_ACTION_DELETE).status.error_code() ==
              grpc::StatusCode::PERMISSION_DENIED);
    }
    // Straight to the service with a validly signed identity of another role: the service refuses it too.
    RetentionApi direct{TokenFor(tenant, {"sales_rep"}), DirectChannel("CRM_TEST_LEADS"),
                        SignedIdentity(tenant, {"sales_rep"})};
    CHECK(direct.Rules("leads").status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(QueryScalar("leads", "SELECT count(*) FROM crm_retention_policies WHERE tenant_id = '" + tenant + "'") ==
          "0");
}
