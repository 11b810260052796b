// The audit trail as users reach it (issue 15): every committed change of every service recorded with its actor,
// RPC, resource and changed field paths, read through the gateway's crm.audit.v1.AuditService for one service or the
// whole suite (auditor and admin only, one tenant's rows only), verified there, and the actor in the event envelope.
#include <crm/audit/v1/audit.grpc.pb.h>
#include <crm/gateway/v1/api_keys.grpc.pb.h>
#include <crm/leads/v1/leads.grpc.pb.h>

#include <catch2/catch.hpp>
#include <set>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/harness.hpp"
#include "../support/leads_client.hpp"
#include "crm/common/crypto.hpp"

using namespace crm::test;
namespace av1 = crm::audit::v1;

namespace {

std::string TokenOf(const std::string& tenant, const std::string& user, std::vector<std::string> roles) {
    TokenSpec spec;
    spec.tenant = tenant;
    spec.user = user;
    spec.roles = std::move(roles);
    return MintToken(spec);
}

struct AuditApi {
    std::string token;
    std::unique_ptr<av1::AuditService::Stub> stub = av1::AuditService::NewStub(GatewayChannel());

    Result<av1::ListAuditEventsResponse> List(const av1::ListAuditEventsRequest& req) {
        Result<av1::ListAuditEventsResponse> r;
        grpc::ClientContext ctx;
        Prepare(ctx, token);
        r.status = stub->ListAuditEvents(&ctx, req, &r.response);
        return r;
    }
    Result<av1::VerifyAuditChainResponse> Verify(const std::string& service) {
        Result<av1::VerifyAuditChainResponse> r;
        av1::VerifyAuditChainRequest req;
        req.set_service(service);
        grpc::ClientContext ctx;
        Prepare(ctx, token);
        r.status = stub->VerifyAuditChain(&ctx, req, &r.response);
        return r;
    }
    // Every page of a query, page_size at a time.
    std::vector<av1::AuditEvent> All(av1::ListAuditEventsRequest req, int page_size) {
        std::vector<av1::AuditEvent> out;
        req.set_page_size(page_size);
        for (int pages = 0; pages < 100; ++pages) {
            auto r = List(req);
            INFO(r.status.error_message());
            REQUIRE(r.ok());
            CHECK(r.response.unavailable_services_size() == 0);
            CHECK(r.response.events_size() <= page_size);
            for (const auto& e : r.response.events()) out.push_back(e);
            if (r.response.next_page_token().empty()) return out;
            req.set_page_token(r.response.next_page_token());
        }
        FAIL("more than 100 pages");
        return out;
    }
};

std::string Key(const av1::AuditEvent& e) {
    return e.service() + "/" + std::to_string(e.chain()) + "/" + std::to_string(e.seq());
}

bool Has(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

TEST_CASE("audit trail: each change through the gateway is recorded with actor, RPC, resource and field paths",
          "[integration][audit]") {
    const std::string tenant = UniqueTenant("aud");
    ContactsClient rep(TokenOf(tenant, "rep-1", {"sales_rep"}));
    EventTap tap("crm.contacts.v1");
    const auto contact = rep.MustCreate("Ada", "Lovelace", "ada@example.com");
    cv1::UpdateContactRequest u;
    u.mutable_contact()->set_id(contact.id());
    u.mutable_contact()->set_email("ada@analytical.example");
    u.mutable_update_mask()->add_paths("email");
    const auto updated = rep.UpdateContact(u);
    REQUIRE(updated.ok());

    AuditApi auditor{TokenOf(tenant, "aud-1", {"auditor"})};
    av1::ListAuditEventsRequest q;
    q.set_service("contacts");
    q.set_resource_type("contact");
    q.set_resource_id(contact.id());
    const auto r = auditor.List(q);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    REQUIRE(r.response.events_size() == 2);
    const auto& newest = r.response.events(0);
    const auto& oldest = r.response.events(1);
    CHECK(newest.rpc() == "UpdateContact");
    CHECK(oldest.rpc() == "CreateContact");
    for (const auto& e : r.response.events()) {
        CHECK(e.service() == "contacts");
        CHECK(e.actor().user_id() == "rep-1");
        CHECK(Has(e.actor().roles(), "sales_rep"));
        CHECK(e.actor().service().empty());
        CHECK(e.outcome() == "OK");
        CHECK(e.resource_id() == contact.id());
        CHECK_FALSE(e.request_id().empty());
        CHECK(e.row_hash().size() == 64);
        // Field paths, never values.
        for (const auto& p : e.changed_paths()) CHECK(p.find('@') == std::string::npos);
    }
    CHECK(std::vector<std::string>(newest.changed_paths().begin(), newest.changed_paths().end()) ==
          std::vector<std::string>{"email"});
    CHECK(Has(oldest.changed_paths(), "given_name"));
    CHECK(Has(oldest.changed_paths(), "email"));
    CHECK(newest.time().seconds() * 1000000 + newest.time().nanos() / 1000 >=
          oldest.time().seconds() * 1000000 + oldest.time().nanos() / 1000);

    // The same actor travels in the events' envelopes.
    const auto events = tap.WaitFor(tenant, 2, std::chrono::seconds(30));
    REQUIRE(events.size() == 2);
    for (const auto& e : events) {
        CHECK(e.envelope.actor().user_id() == "rep-1");
        CHECK(e.envelope.actor().roles_size() == 1);
        CHECK(e.envelope.actor().service().empty());
    }

    // The trail and its chains verify.
    const auto v = auditor.Verify("contacts");
    INFO(v.status.error_message());
    REQUIRE(v.ok());
    REQUIRE(v.response.checks_size() == 1);
    CHECK(v.response.intact());
    CHECK(v.response.checks(0).rows_checked() == 2);
}

TEST_CASE("audit trail: the suite view merges every service newest first and pages without gaps or repeats",
          "[integration][audit]") {
    const std::string tenant = UniqueTenant("aus");
    ContactsClient contacts(TokenOf(tenant, "mgr-1", {"admin"}));
    LeadsClient leads(TokenOf(tenant, "mgr-1", {"admin"}));
    std::set<std::string> created;
    for (int i = 0; i < 4; ++i) {
        created.insert(contacts.MustCreate("Grace" + std::to_string(i), "Hopper", "").id());
        created.insert(leads.MustCreate("Lin" + std::to_string(i), "lin" + std::to_string(i) + "@example.com").id());
    }
    AuditApi admin{TokenOf(tenant, "mgr-1", {"admin"})};
    av1::ListAuditEventsRequest q;
    q.set_actor_user_id("mgr-1");
    const auto one_page = admin.All(q, 500);
    const auto small_pages = admin.All(q, 3);
    REQUIRE(one_page.size() >= 8);
    REQUIRE(small_pages.size() == one_page.size());
    std::set<std::string> services, resources, keys;
    for (size_t i = 0; i < one_page.size(); ++i) {
        CHECK(Key(small_pages[i]) == Key(one_page[i]));
        keys.insert(Key(one_page[i]));
        services.insert(one_page[i].service());
        resources.insert(one_page[i].resource_id());
        if (i > 0) {
            const auto& a = one_page[i - 1].time();
            const auto& b = one_page[i].time();
            CHECK((a.seconds() > b.seconds() || (a.seconds() == b.seconds() && a.nanos() >= b.nanos())));
        }
    }
    CHECK(keys.size() == one_page.size());  // no row twice
    CHECK(services.count("contacts") == 1);
    CHECK(services.count("leads") == 1);
    for (const auto& id : created) CHECK(resources.count(id) == 1);

    // The whole suite verifies (every service answered).
    const auto v = admin.Verify("");
    INFO(v.status.error_message());
    REQUIRE(v.ok());
    CHECK(v.response.intact());
    CHECK(v.response.checks_size() >= 8);  // the gateway's trail and every routed service's
    for (const auto& c : v.response.checks()) {
        INFO(c.service() << ": " << c.problem());
        CHECK_FALSE(c.unavailable());
        CHECK(c.intact());
    }
}

TEST_CASE("audit trail: refused writes are recorded with their refusal as outcome, refused reads are not",
          "[integration][audit]") {
    const std::string tenant = UniqueTenant("aur");
    ContactsClient rep(TokenOf(tenant, "rep-r", {"sales_rep"}));
    ContactsClient viewer(TokenOf(tenant, "viewer-r", {"read_only"}));
    cv1::CreateContactRequest bad;
    bad.mutable_contact()->set_given_name("Ada");
    bad.mutable_contact()->set_email("not an address");
    CHECK(rep.CreateContact(bad).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    cv1::GetContactRequest missing;
    missing.set_id("00000000-0000-4000-8000-00000000dead");
    CHECK(rep.GetContact(missing).status.error_code() == grpc::StatusCode::NOT_FOUND);
    cv1::UpdateContactRequest ghost;
    ghost.mutable_contact()->set_id("00000000-0000-4000-8000-00000000dead");
    ghost.mutable_contact()->set_given_name("Nobody");
    ghost.mutable_update_mask()->add_paths("given_name");
    CHECK(rep.UpdateContact(ghost).status.error_code() == grpc::StatusCode::NOT_FOUND);
    // Refused by the gateway's policy: never reaches the service (the gateway's call log has it).
    CHECK(viewer.CreateContact(bad).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);

    AuditApi auditor{TokenOf(tenant, "aud-r", {"auditor"})};
    av1::ListAuditEventsRequest q;
    q.set_service("contacts");
    q.set_actor_user_id("rep-r");
    const auto rows = auditor.All(q, 50);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].rpc() == "UpdateContact");
    CHECK(rows[0].outcome() == "NOT_FOUND");
    CHECK(rows[1].rpc() == "CreateContact");
    CHECK(rows[1].outcome() == "INVALID_ARGUMENT");
    for (const auto& e : rows) {
        CHECK(e.resource_type().empty());  // nothing changed
        CHECK(e.changed_paths_size() == 0);
        CHECK(e.actor().user_id() == "rep-r");
        CHECK_FALSE(e.request_id().empty());
    }
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant + "'") == "0");
    const auto v = auditor.Verify("contacts");
    REQUIRE(v.ok());
    CHECK(v.response.intact());
}

TEST_CASE("audit trail: auditors and admins only, one tenant only, bad queries named", "[integration][audit]") {
    const std::string tenant = UniqueTenant("aui");
    const std::string other = UniqueTenant("auo");
    ContactsClient rep(TokenOf(tenant, "rep-2", {"sales_rep"}));
    const auto contact = rep.MustCreate("Katherine", "Johnson", "");

    av1::ListAuditEventsRequest q;
    q.set_service("contacts");
    q.set_resource_type("contact");
    q.set_resource_id(contact.id());
    for (const char* role : {"sales_rep", "sales_manager", "read_only", "analyst", "privacy_officer"}) {
        INFO(role);
        AuditApi caller{TokenOf(tenant, "x", {role})};
        CHECK(caller.List(q).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        CHECK(caller.Verify("").status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    }
    // Another tenant's auditor, with the guessed id: nothing.
    AuditApi stranger{TokenOf(other, "aud-x", {"auditor"})};
    const auto seen = stranger.List(q);
    REQUIRE(seen.ok());
    CHECK(seen.response.events_size() == 0);
    q.clear_service();
    CHECK(stranger.All(q, 50).empty());

    AuditApi auditor{TokenOf(tenant, "aud-2", {"auditor"})};
    av1::ListAuditEventsRequest bad;
    bad.set_resource_id(contact.id());  // without its type
    bad.mutable_start_time()->set_seconds(2000000000);
    bad.mutable_end_time()->set_seconds(1000000000);  // before the start
    bad.set_actor_user_id(std::string("a\0b", 3));
    bad.set_page_size(-1);
    auto r = auditor.List(bad);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field : {"resource_type", "end_time", "actor_user_id", "page_size"}) {
        INFO(field);
        CHECK(HasViolation(r.status, field));
    }
    av1::ListAuditEventsRequest unknown;
    unknown.set_service("payroll");
    r = auditor.List(unknown);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(r.status, "service"));
    CHECK(auditor.Verify("payroll").status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    // A page token is bound to its tenant and query.
    av1::ListAuditEventsRequest first;
    first.set_page_size(1);
    rep.MustCreate("Dorothy", "Vaughan", "");
    auto page = auditor.List(first);
    REQUIRE(page.ok());
    REQUIRE_FALSE(page.response.next_page_token().empty());
    av1::ListAuditEventsRequest other_query = first;
    other_query.set_actor_user_id("someone");
    other_query.set_page_token(page.response.next_page_token());
    r = auditor.List(other_query);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(r.status, "page_token"));
    first.set_page_token(page.response.next_page_token());
    CHECK(stranger.List(first).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("audit trail: a row altered behind the trigger's back is reported by VerifyAuditChain through the gateway",
          "[integration][audit]") {
    const std::string tenant = UniqueTenant("aut");
    ContactsClient rep(TokenOf(tenant, "rep-3", {"sales_rep"}));
    for (int i = 0; i < 6; ++i) rep.MustCreate("Mary" + std::to_string(i), "Jackson", "");
    AuditApi auditor{TokenOf(tenant, "aud-3", {"auditor"})};
    REQUIRE(auditor.Verify("contacts").response.intact());
    // As the database superuser: the trigger switched off for one statement, a row's actor "corrected".
    QueryScalar("contacts",
                "ALTER TABLE crm_audit DISABLE TRIGGER crm_audit_no_update; "
                "UPDATE crm_audit SET actor_user = 'someone-else' WHERE tenant_id = '" +
                    tenant + "' AND (chain, seq) = (SELECT chain, seq FROM crm_audit WHERE tenant_id = '" + tenant +
                    "' ORDER BY occurred_us LIMIT 1); "
                    "ALTER TABLE crm_audit ENABLE TRIGGER crm_audit_no_update; SELECT 1");
    const auto one = auditor.Verify("contacts");
    REQUIRE(one.ok());
    CHECK_FALSE(one.response.intact());
    REQUIRE(one.response.checks_size() == 1);
    CHECK_FALSE(one.response.checks(0).intact());
    CHECK(one.response.checks(0).problem().find("altered") != std::string::npos);
    const auto suite = auditor.Verify("");
    REQUIRE(suite.ok());
    CHECK_FALSE(suite.response.intact());
}

TEST_CASE("audit trail: the gateway's own changes (API keys) are in the suite's trail", "[integration][audit]") {
    const std::string tenant = UniqueTenant("auk");
    auto stub = crm::gateway::v1::ApiKeysService::NewStub(GatewayChannel());
    crm::gateway::v1::CreateApiKeyRequest req;
    req.mutable_api_key()->set_display_name("CI export");
    req.mutable_api_key()->add_roles("read_only");
    req.set_request_id(crm::common::NewUuid());
    crm::gateway::v1::CreateApiKeyResponse resp;
    grpc::ClientContext ctx;
    Prepare(ctx, TokenOf(tenant, "adm-4", {"admin"}));
    const auto status = stub->CreateApiKey(&ctx, req, &resp);
    INFO(status.error_message());
    REQUIRE(status.ok());
    AuditApi auditor{TokenOf(tenant, "aud-4", {"auditor"})};
    av1::ListAuditEventsRequest q;
    q.set_service("gateway");
    const auto r = auditor.List(q);
    REQUIRE(r.ok());
    REQUIRE(r.response.events_size() == 1);
    CHECK(r.response.events(0).rpc() == "CreateApiKey");
    CHECK(r.response.events(0).resource_type() == "api_key");
    CHECK(r.response.events(0).resource_id() == resp.api_key().id());
    CHECK(r.response.events(0).actor().user_id() == "adm-4");
}
