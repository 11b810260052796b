// Queues and routing through the gateway (crm.support.v1.SupportRoutingService): queues round-trip and refuse bad
// input naming every field; routing rules send new cases (CreateCase and IngestEmail) to queues by channel, category,
// language, priority and tier, assigned round-robin or least-loaded within capacity and presence, with CaseAssigned
// events; presence is the agent's own (a manager sets anyone's) and an agent becoming available takes waiting cases;
// re-routing keeps history; tenants are isolated; and assignment stays within capacity while two replicas of the
// service route cases concurrently.
#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "../support/events.hpp"
#include "../support/explain.hpp"
#include "../support/support_client.hpp"
#include "crm/support/events/v1/events.pb.h"
#include "queues/sql.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace sev1 = crm::support::events::v1;

namespace {

spv1::QueueMember Member(const std::string& agent, int capacity = 0, const std::vector<std::string>& skills = {},
                         const std::vector<std::string>& languages = {}) {
    spv1::QueueMember m;
    m.set_agent_id(agent);
    m.set_capacity(capacity);
    for (const auto& s : skills) m.add_skills(s);
    for (const auto& l : languages) m.add_languages(l);
    return m;
}

std::string AgentToken(const std::string& tenant, const std::string& user,
                       const std::vector<std::string>& roles = {"support_agent"}) {
    TokenSpec spec;
    spec.tenant = tenant;
    spec.user = user;
    spec.roles = roles;
    return MintToken(spec);
}

spv1::Case Create(SupportClient& api, const std::string& subject, spv1::Channel channel = spv1::CHANNEL_API,
                  const std::string& category = "", const std::string& language = "",
                  spv1::CasePriority priority = spv1::CASE_PRIORITY_NORMAL, const std::string& tier = "") {
    spv1::CreateCaseRequest req;
    auto* c = req.mutable_case_();
    c->set_subject(subject);
    c->set_channel(channel);
    c->set_category(category);
    c->set_language(language);
    c->set_priority(priority);
    c->set_customer_tier(tier);
    auto r = api.CreateCase(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.case_();
}

void SetRules(SupportRoutingClient& routing, const spv1::RoutingRules& rules) {
    spv1::UpdateRoutingRulesRequest req;
    *req.mutable_routing_rules() = rules;
    auto r = routing.UpdateRoutingRules(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
}

long Count(const std::string& table, const std::string& tenant) {
    return std::stol(QueryScalar("support", "SELECT count(*) FROM " + table + " WHERE tenant_id = '" + tenant + "'"));
}

std::vector<spv1::CaseRouting> History(SupportRoutingClient& routing, const std::string& case_id) {
    spv1::ListCaseRoutingsRequest req;
    req.set_case_id(case_id);
    auto r = routing.ListCaseRoutings(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return {r.response.routings().begin(), r.response.routings().end()};
}

}  // namespace

TEST_CASE("support routing: queues round-trip, page and refuse bad input naming every field",
          "[integration][support][routing]") {
    const std::string tenant = UniqueTenant("rq");
    SupportRoutingClient routing(TokenFor(tenant));

    spv1::CreateQueueRequest bad;
    bad.mutable_queue()->set_name("  ");
    bad.mutable_queue()->set_description(std::string("a\0b", 3));
    bad.mutable_queue()->set_strategy(static_cast<spv1::AssignmentStrategy>(42));
    bad.mutable_queue()->set_etag("seven");
    *bad.mutable_queue()->add_members() = Member("", 5000, {"Bad Skill"}, {"english!"});
    *bad.mutable_queue()->add_members() = Member("ann");
    *bad.mutable_queue()->add_members() = Member("ann");
    bad.set_request_id(std::string(65, 'r'));
    auto refused = routing.CreateQueue(bad);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field : {"queue.name", "queue.description", "queue.strategy", "queue.etag",
                              "queue.members[0].agent_id", "queue.members[0].capacity", "queue.members[0].skills[0]",
                              "queue.members[0].languages[0]", "queue.members[2].agent_id", "request_id"}) {
        INFO(field);
        CHECK(HasViolation(refused.status, field));
    }
    spv1::CreateQueueRequest huge;
    huge.mutable_queue()->set_name("Huge");
    for (int i = 0; i < 201; ++i) *huge.mutable_queue()->add_members() = Member("agent-" + std::to_string(i));
    CHECK(HasViolation(routing.CreateQueue(huge).status, "queue.members"));
    CHECK(Count("support_queues", tenant) == 0);
    CHECK(Count("support_queue_members", tenant) == 0);

    spv1::CreateQueueRequest create;
    create.set_request_id("q-1");
    create.mutable_queue()->set_name(" Billing ");
    create.mutable_queue()->set_description("Invoices\nand refunds");
    create.mutable_queue()->set_strategy(spv1::ASSIGNMENT_STRATEGY_LEAST_LOADED);
    *create.mutable_queue()->add_members() = Member("ann", 3, {"Refunds", "billing"}, {"EN-gb"});
    *create.mutable_queue()->add_members() = Member("bob");
    auto made = routing.CreateQueue(create);
    INFO(made.status.error_message());
    REQUIRE(made.ok());
    const spv1::Queue q = made.response.queue();
    CHECK(q.name() == "Billing");
    CHECK(q.active());
    CHECK(q.etag() == "v1");
    REQUIRE(q.members_size() == 2);
    CHECK(q.members(0).agent_id() == "ann");
    CHECK(std::vector<std::string>(q.members(0).skills().begin(), q.members(0).skills().end()) ==
          std::vector<std::string>{"billing", "refunds"});
    CHECK(q.members(0).languages(0) == "en-GB");
    CHECK(q.members(1).capacity() == 10);  // the default
    // A retry returns the first queue; the same name (any case) is ALREADY_EXISTS.
    CHECK(routing.CreateQueue(create).response.queue().id() == q.id());
    spv1::CreateQueueRequest twin;
    twin.mutable_queue()->set_name("BILLING");
    CHECK(routing.CreateQueue(twin).status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(Count("support_queues", tenant) == 1);

    routing.MustCreateQueue("Alpha", {});
    routing.MustCreateQueue("Zulu", {});
    spv1::ListQueuesRequest list;
    list.set_page_size(2);
    auto first = routing.ListQueues(list);
    REQUIRE(first.ok());
    REQUIRE(first.response.queues_size() == 2);
    CHECK(first.response.queues(0).name() == "Alpha");
    CHECK(first.response.queues(1).name() == "Billing");
    list.set_page_token(first.response.next_page_token());
    auto second = routing.ListQueues(list);
    REQUIRE(second.ok());
    REQUIRE(second.response.queues_size() == 1);
    CHECK(second.response.queues(0).name() == "Zulu");
    CHECK(second.response.next_page_token().empty());

    spv1::UpdateQueueRequest update;
    update.mutable_queue()->set_id(q.id());
    update.mutable_queue()->set_etag(q.etag());
    update.mutable_queue()->set_name("Billing EU");
    *update.mutable_queue()->add_members() = Member("cem", 2);
    update.mutable_update_mask()->add_paths("name");
    update.mutable_update_mask()->add_paths("members");
    update.mutable_update_mask()->add_paths("active");  // false: the queue takes no new cases
    auto updated = routing.UpdateQueue(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.queue().name() == "Billing EU");
    CHECK(updated.response.queue().version() == 2);
    CHECK_FALSE(updated.response.queue().active());
    REQUIRE(updated.response.queue().members_size() == 1);
    CHECK(updated.response.queue().members(0).agent_id() == "cem");
    CHECK(updated.response.queue().description() == "Invoices\nand refunds");  // not in the mask
    // A stale etag: ABORTED; another queue's name: ALREADY_EXISTS; a bad mask path is named.
    CHECK(routing.UpdateQueue(update).status.error_code() == grpc::StatusCode::ABORTED);
    update.mutable_queue()->set_etag("");
    update.mutable_queue()->set_name("alpha");
    CHECK(routing.UpdateQueue(update).status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    update.mutable_update_mask()->add_paths("waiting_count");
    CHECK(HasViolation(routing.UpdateQueue(update).status, "update_mask"));

    // Another tenant: NOT_FOUND for the queue; it lists nothing. Bad ids are named.
    SupportRoutingClient other(TokenFor(UniqueTenant("rq")));
    spv1::GetQueueRequest get;
    get.set_id(q.id());
    CHECK(other.GetQueue(get).status.error_code() == grpc::StatusCode::NOT_FOUND);
    spv1::UpdateQueueRequest foreign;
    foreign.mutable_queue()->set_id(q.id());
    foreign.mutable_queue()->set_name("Mine now");
    CHECK(other.UpdateQueue(foreign).status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(other.ListQueues({}).response.queues_size() == 0);
    get.set_id("not-a-uuid");
    CHECK(HasViolation(routing.GetQueue(get).status, "id"));
    // Agents read queues but do not manage them (the gateway's policy).
    SupportRoutingClient agent(AgentToken(tenant, "ann"));
    get.set_id(q.id());
    CHECK(agent.GetQueue(get).ok());
    CHECK(agent.CreateQueue(twin).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("support routing: rules route new cases by channel, category, language, priority and tier",
          "[integration][support][routing]") {
    const std::string tenant = UniqueTenant("rr");
    SupportClient api(TokenFor(tenant));
    SupportRoutingClient routing(TokenFor(tenant));
    // Without rules nothing is routed.
    CHECK(Create(api, "Before rules").queue_id().empty());

    const spv1::Queue vip =
        routing.MustCreateQueue("VIP", {Member("vera"), Member("vic")}, spv1::ASSIGNMENT_STRATEGY_LEAST_LOADED);
    const spv1::Queue billing =
        routing.MustCreateQueue("Billing", {Member("ann", 0, {"billing"}), Member("bob", 0, {"billing"})});
    const spv1::Queue german = routing.MustCreateQueue("German", {Member("dora", 0, {}, {"de"})});
    const spv1::Queue mail = routing.MustCreateQueue("Mail", {Member("max")});
    const spv1::Queue general = routing.MustCreateQueue("General", {});
    for (const char* agent : {"vera", "vic", "ann", "bob", "dora", "max"}) {
        routing.MustSetPresence(agent, spv1::PRESENCE_AVAILABLE);
    }

    spv1::RoutingRules bad;
    auto* b = bad.add_rules();
    b->set_name(std::string("x\0y", 3));
    b->add_channels(static_cast<spv1::Channel>(77));
    b->add_priorities(spv1::CASE_PRIORITY_UNSPECIFIED);
    b->add_languages("not a tag");
    b->add_customer_tiers("Gold Tier");
    b->add_categories("");
    b->add_required_skills("?");
    b->set_queue_id("nope");
    bad.add_rules()->set_queue_id("00000000-0000-4000-8000-000000000000");  // no such queue
    bad.set_default_queue_id("also-nope");
    spv1::UpdateRoutingRulesRequest bad_req;
    *bad_req.mutable_routing_rules() = bad;
    auto refused = routing.UpdateRoutingRules(bad_req);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field :
         {"routing_rules.rules[0].name", "routing_rules.rules[0].channels", "routing_rules.rules[0].priorities",
          "routing_rules.rules[0].languages[0]", "routing_rules.rules[0].customer_tiers[0]",
          "routing_rules.rules[0].categories[0]", "routing_rules.rules[0].required_skills[0]",
          "routing_rules.rules[0].queue_id", "routing_rules.default_queue_id"}) {
        INFO(field);
        CHECK(HasViolation(refused.status, field));
    }
    bad.mutable_rules()->DeleteSubrange(0, 1);
    bad.clear_default_queue_id();
    *bad_req.mutable_routing_rules() = bad;
    CHECK(HasViolation(routing.UpdateRoutingRules(bad_req).status, "routing_rules.rules[0].queue_id"));
    CHECK(Count("support_routing_rules", tenant) == 0);

    spv1::RoutingRules rules;
    auto add = [&](const std::string& name, const std::string& queue) {
        auto* r = rules.add_rules();
        r->set_name(name);
        r->set_queue_id(queue);
        return r;
    };
    add("gold customers", vip.id())->add_customer_tiers("gold");
    auto* urgent_billing = add("urgent billing", vip.id());
    urgent_billing->add_categories("billing");
    urgent_billing->add_priorities(spv1::CASE_PRIORITY_URGENT);
    add("billing", billing.id())->add_categories("Billing");
    add("german", german.id())->add_languages("de");
    add("e-mail", mail.id())->add_channels(spv1::CHANNEL_EMAIL);
    rules.set_default_queue_id(general.id());
    SetRules(routing, rules);
    const auto stored = routing.GetRoutingRules({}).response.routing_rules();
    CHECK(stored.version() == 1);
    CHECK(stored.rules_size() == 5);
    CHECK(stored.default_queue_id() == general.id());
    // A stale etag is ABORTED.
    spv1::UpdateRoutingRulesRequest stale;
    *stale.mutable_routing_rules() = rules;
    stale.mutable_routing_rules()->set_etag("v9");
    CHECK(routing.UpdateRoutingRules(stale).status.error_code() == grpc::StatusCode::ABORTED);

    EventTap tap("crm.support.v1");
    tap.Keep(
        [](const crm::common::v1::EventEnvelope& e) { return e.event_type() == "crm.support.events.v1.CaseAssigned"; });

    const spv1::Case gold = Create(api, "Gold", spv1::CHANNEL_API, "billing", "de", spv1::CASE_PRIORITY_LOW, "gold");
    CHECK(gold.queue_id() == vip.id());  // the first matching rule wins
    const spv1::Case urgent = Create(api, "Urgent", spv1::CHANNEL_API, "billing", "", spv1::CASE_PRIORITY_URGENT);
    CHECK(urgent.queue_id() == vip.id());
    // Least-loaded in VIP: gold went to one agent, the urgent case to the other.
    CHECK(gold.assignee_id() != urgent.assignee_id());
    CHECK(std::set<std::string>{gold.assignee_id(), urgent.assignee_id()} == std::set<std::string>{"vera", "vic"});

    // Round-robin in Billing: ann, bob, ann, bob.
    std::vector<std::string> billed;
    for (int i = 0; i < 4; ++i) {
        const spv1::Case c = Create(api, "Invoice " + std::to_string(i), spv1::CHANNEL_WEB, "BILLING");
        CHECK(c.queue_id() == billing.id());
        billed.push_back(c.assignee_id());
    }
    CHECK(billed == std::vector<std::string>{"ann", "bob", "ann", "bob"});

    const spv1::Case de = Create(api, "Drucker", spv1::CHANNEL_CHAT, "hardware", "de-AT");
    CHECK(de.queue_id() == german.id());
    CHECK(de.assignee_id() == "dora");
    const spv1::Case other = Create(api, "Anything else", spv1::CHANNEL_PHONE, "hardware", "fr");
    CHECK(other.queue_id() == general.id());  // the default queue, which has nobody: waiting
    CHECK(other.assignee_id().empty());

    // The e-mail path routes too.
    spv1::IngestEmailRequest mail_req;
    mail_req.set_raw_message("From: Rita <rita-" + tenant +
                             "@example.com>\r\nSubject: Where is my order\r\n"
                             "Message-ID: <route-1-" +
                             tenant + "@example.com>\r\n\r\nHello");
    auto ingested = api.IngestEmail(mail_req);
    INFO(ingested.status.error_message());
    REQUIRE(ingested.ok());
    CHECK(ingested.response.created_case());
    CHECK(ingested.response.case_().queue_id() == mail.id());
    CHECK(ingested.response.case_().assignee_id() == "max");

    // Each routing is history; each assignment a CaseAssigned event with the queue.
    const auto history = History(routing, de.id());
    REQUIRE(history.size() == 1);
    CHECK(history[0].reason() == "NEW_CASE");
    CHECK(history[0].rule_index() == 3);
    CHECK(history[0].rule_name() == "german");
    CHECK(history[0].assignee_id() == "dora");
    CHECK(History(routing, other.id())[0].rule_index() == -1);

    // gold, urgent, 4 billing, de, other (queued, nobody), the e-mail case.
    const auto events = tap.WaitFor(tenant, 9, 30s);
    CHECK(events.size() == 9);
    std::map<std::string, sev1::CaseAssigned> by_case;
    for (const auto& e : events) {
        sev1::CaseAssigned a;
        REQUIRE(e.envelope.payload().UnpackTo(&a));
        by_case[e.envelope.aggregate_id()] = a;
    }
    CHECK(by_case[de.id()].queue_id() == german.id());
    CHECK(by_case[de.id()].assignee_id() == "dora");
    CHECK(by_case[de.id()].previous_queue_id().empty());
    CHECK(by_case[de.id()].case_().queue_id() == german.id());
    CHECK(by_case[other.id()].queue_id() == general.id());
    CHECK(by_case[other.id()].assignee_id().empty());
    CHECK(by_case[de.id()].case_().version() == 2);  // CaseCreated is version 1
}

TEST_CASE("support routing: presence is the agent's own, and an available agent takes waiting cases up to capacity",
          "[integration][support][routing]") {
    const std::string tenant = UniqueTenant("rp");
    SupportClient api(TokenFor(tenant));
    SupportRoutingClient admin(TokenFor(tenant));
    const spv1::Queue q = admin.MustCreateQueue("Chat", {Member("ann", 2, {"chat"}), Member("bob", 1)});
    spv1::RoutingRules rules;
    rules.set_default_queue_id(q.id());
    SetRules(admin, rules);

    // Nobody available: cases wait in the queue.
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) {
        const spv1::Case c = Create(api, "Waiting " + std::to_string(i));
        CHECK(c.queue_id() == q.id());
        CHECK(c.assignee_id().empty());
        ids.push_back(c.id());
    }
    spv1::GetQueueRequest get;
    get.set_id(q.id());
    CHECK(admin.GetQueue(get).response.queue().waiting_count() == 4);

    SupportRoutingClient ann(AgentToken(tenant, "ann"));
    spv1::GetAgentPresenceRequest ask;
    ask.set_agent_id("ann");
    CHECK(ann.GetAgentPresence(ask).response.agent_presence().presence() == spv1::PRESENCE_AWAY);  // never set
    // An agent cannot set another's presence; a manager can.
    spv1::SetAgentPresenceRequest for_bob;
    for_bob.set_agent_id("bob");
    for_bob.set_presence(spv1::PRESENCE_AVAILABLE);
    CHECK(ann.SetAgentPresence(for_bob).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    spv1::SetAgentPresenceRequest bad;
    bad.set_agent_id(std::string("a\0b", 3));
    CHECK(HasViolation(ann.SetAgentPresence(bad).status, "agent_id"));
    CHECK(HasViolation(ann.SetAgentPresence(bad).status, "presence"));

    // ann becomes available: she takes the two oldest waiting cases (her capacity).
    const auto became = ann.MustSetPresence("ann", spv1::PRESENCE_AVAILABLE);
    CHECK(std::vector<std::string>(became.assigned_case_ids().begin(), became.assigned_case_ids().end()) ==
          std::vector<std::string>{ids[0], ids[1]});
    CHECK(became.agent_presence().presence() == spv1::PRESENCE_AVAILABLE);
    CHECK(became.agent_presence().active_cases() == 2);
    CHECK(became.agent_presence().updated_by() == "ann");
    SupportRoutingClient manager(AgentToken(tenant, "mia", {"support_manager", "support_agent"}));
    const auto bob = manager.MustSetPresence("bob", spv1::PRESENCE_AVAILABLE);
    CHECK(std::vector<std::string>(bob.assigned_case_ids().begin(), bob.assigned_case_ids().end()) ==
          std::vector<std::string>{ids[2]});
    CHECK(bob.agent_presence().updated_by() == "mia");
    CHECK(admin.GetQueue(get).response.queue().waiting_count() == 1);
    CHECK(History(admin, ids[2]).back().reason() == "AGENT_AVAILABLE");

    // Everyone full: a new case waits. ann solves one: the next new case goes to her.
    CHECK(Create(api, "Full house").assignee_id().empty());
    api.MustChangeStatus(ids[0], spv1::CASE_STATUS_SOLVED);
    CHECK(Create(api, "Room again").assignee_id() == "ann");
    // Away: no new cases.
    ann.MustSetPresence("ann", spv1::PRESENCE_AWAY);
    api.MustChangeStatus(ids[1], spv1::CASE_STATUS_SOLVED);
    CHECK(Create(api, "Ann is away").assignee_id().empty());

    // Presence is per tenant.
    SupportRoutingClient stranger(TokenFor(UniqueTenant("rp")));
    spv1::GetAgentPresenceRequest bob_elsewhere;
    bob_elsewhere.set_agent_id("bob");
    CHECK(stranger.GetAgentPresence(bob_elsewhere).response.agent_presence().presence() == spv1::PRESENCE_AWAY);
}

TEST_CASE("support routing: re-routing moves a case to another queue and keeps its history",
          "[integration][support][routing]") {
    const std::string tenant = UniqueTenant("rh");
    SupportClient api(TokenFor(tenant));
    SupportRoutingClient routing(TokenFor(tenant));
    const spv1::Queue first = routing.MustCreateQueue("First line", {Member("ann")});
    const spv1::Queue second = routing.MustCreateQueue("Second line", {Member("bob")});
    routing.MustSetPresence("ann", spv1::PRESENCE_AVAILABLE);
    routing.MustSetPresence("bob", spv1::PRESENCE_AVAILABLE);
    spv1::RoutingRules rules;
    rules.set_default_queue_id(first.id());
    SetRules(routing, rules);
    const spv1::Case c = Create(api, "Escalate me");
    CHECK(c.assignee_id() == "ann");

    spv1::RouteCaseRequest route;
    route.set_case_id(c.id());
    route.set_queue_id(second.id());
    route.set_note("needs an expert");
    route.set_etag(c.etag());
    auto moved = routing.RouteCase(route);
    INFO(moved.status.error_message());
    REQUIRE(moved.ok());
    CHECK(moved.response.case_().queue_id() == second.id());
    CHECK(moved.response.case_().assignee_id() == "bob");
    CHECK(moved.response.routing().previous_queue_id() == first.id());
    CHECK(moved.response.routing().previous_assignee_id() == "ann");
    CHECK(moved.response.routing().reason() == "REROUTE");
    CHECK(moved.response.routing().note() == "needs an expert");
    // The old etag is stale now.
    CHECK(routing.RouteCase(route).status.error_code() == grpc::StatusCode::ABORTED);
    // By the rules again: back to the first line.
    spv1::RouteCaseRequest by_rules;
    by_rules.set_case_id(c.id());
    auto back = routing.RouteCase(by_rules);
    REQUIRE(back.ok());
    CHECK(back.response.case_().queue_id() == first.id());
    CHECK(back.response.case_().assignee_id() == "ann");

    const auto history = History(routing, c.id());
    REQUIRE(history.size() == 3);
    CHECK(history[0].reason() == "NEW_CASE");
    CHECK(history[1].queue_id() == second.id());
    CHECK(history[2].queue_id() == first.id());
    CHECK(history[2].previous_queue_id() == second.id());
    spv1::ListCaseRoutingsRequest page;
    page.set_case_id(c.id());
    page.set_page_size(2);
    auto p1 = routing.ListCaseRoutings(page);
    REQUIRE(p1.ok());
    CHECK(p1.response.routings_size() == 2);
    page.set_page_token(p1.response.next_page_token());
    CHECK(routing.ListCaseRoutings(page).response.routings_size() == 1);

    // Bad input is named; solved cases are not routed; an inactive or unknown queue is refused.
    spv1::RouteCaseRequest bad;
    bad.set_case_id("x");
    bad.set_queue_id("y");
    bad.set_note(std::string("n\0o", 3));
    bad.set_etag("e");
    auto refused = routing.RouteCase(bad);
    for (const char* field : {"case_id", "queue_id", "note", "etag"}) {
        INFO(field);
        CHECK(HasViolation(refused.status, field));
    }
    route.set_etag("");
    route.set_queue_id("00000000-0000-4000-8000-000000000000");
    CHECK(routing.RouteCase(route).status.error_code() == grpc::StatusCode::NOT_FOUND);
    api.MustChangeStatus(c.id(), spv1::CASE_STATUS_SOLVED);
    route.set_queue_id(second.id());
    CHECK(routing.RouteCase(route).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(History(routing, c.id()).size() == 3);

    // Another tenant: NOT_FOUND for the case and its history.
    SupportRoutingClient other(TokenFor(UniqueTenant("rh")));
    spv1::ListCaseRoutingsRequest foreign;
    foreign.set_case_id(c.id());
    CHECK(other.ListCaseRoutings(foreign).status.error_code() == grpc::StatusCode::NOT_FOUND);
    spv1::RouteCaseRequest foreign_route;
    foreign_route.set_case_id(c.id());
    CHECK(other.RouteCase(foreign_route).status.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("support routing: concurrent routing on two replicas never passes an agent's capacity",
          "[integration][support][routing]") {
    // A second replica of the service, on its own port, against the same database.
    const int port = FreePort();
    ChildProcess replica(CRM_SUPPORT_BINARY, {},
                         {{"CRM_GRPC_LISTEN", "127.0.0.1:" + std::to_string(port)},
                          {"CRM_METRICS_LISTEN", "127.0.0.1:" + std::to_string(FreePort())},
                          {"CRM_DB_URL", RequireEnv("CRM_SUPPORT_DB_URL")},
                          {"CRM_DB_ADMIN_URL", RequireEnv("CRM_SUPPORT_DB_ADMIN_URL")},
                          {"CRM_KAFKA_BROKERS", RequireEnv("CRM_TEST_KAFKA")},
                          {"CRM_INTERNAL_KEY", RequireEnv("CRM_INTERNAL_KEY")},
                          {"CRM_MIGRATIONS_DIR", CRM_SOURCE_DIR "/services/support/migrations"},
                          {"CRM_SUPPORT_CONTACTS_ADDR", ""},
                          {"CRM_SHUTDOWN_GRACE_SECONDS", "5"},
                          {"CRM_LOG_LEVEL", "info"}},
                         "/tmp/crm-support-routing-replica.log");
    REQUIRE(WaitServing("127.0.0.1:" + std::to_string(port), 30s));
    const std::string tenant = UniqueTenant("rc");
    SupportClient api(TokenFor(tenant));
    SupportRoutingClient gateway(TokenFor(tenant));
    SupportRoutingClient direct(
        "", grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    const auto identity = SignedIdentity(tenant);

    const spv1::Queue waiting = gateway.MustCreateQueue("Intake", {});
    const spv1::Queue team = gateway.MustCreateQueue("Team", {Member("ann", 3), Member("bob", 3)});
    spv1::RoutingRules rules;
    rules.set_default_queue_id(waiting.id());
    SetRules(gateway, rules);
    constexpr int kCases = 20;
    std::vector<std::string> ids;
    for (int i = 0; i < kCases; ++i) ids.push_back(Create(api, "Rush " + std::to_string(i)).id());

    // Every case routed to the team at once, half through the gateway and half on the second replica, while both
    // agents become available (each of which takes waiting cases of the team too).
    std::vector<std::future<grpc::StatusCode>> calls;
    for (int i = 0; i < kCases; ++i) {
        calls.push_back(std::async(std::launch::async, [&, i] {
            spv1::RouteCaseRequest req;
            req.set_case_id(ids[i]);
            req.set_queue_id(team.id());
            return i % 2 == 0 ? gateway.RouteCase(req).status.error_code()
                              : direct.RouteCase(req, identity).status.error_code();
        }));
        if (i == 5 || i == 12) {
            calls.push_back(std::async(std::launch::async, [&, i] {
                spv1::SetAgentPresenceRequest req;
                req.set_agent_id(i == 5 ? "ann" : "bob");
                req.set_presence(spv1::PRESENCE_AVAILABLE);
                return i == 5 ? gateway.SetAgentPresence(req).status.error_code()
                              : direct.SetAgentPresence(req, identity).status.error_code();
            }));
        }
    }
    for (auto& call : calls) CHECK(call.get() == grpc::StatusCode::OK);

    // Exactly each agent's capacity, whatever the interleaving: 20 cases for 2 x 3 places.
    std::map<std::string, int> per_agent;
    int queued = 0;
    for (const auto& id : ids) {
        spv1::GetCaseRequest get;
        get.set_id(id);
        const spv1::Case c = api.GetCase(get).response.case_();
        CHECK(c.queue_id() == team.id());
        if (c.assignee_id().empty()) {
            ++queued;
        } else {
            ++per_agent[c.assignee_id()];
        }
    }
    CHECK(per_agent == std::map<std::string, int>{{"ann", 3}, {"bob", 3}});
    CHECK(queued == kCases - 6);
}

TEST_CASE("support routing: loads, waiting cases and routing history are index-backed at 100k cases (EXPLAIN)",
          "[integration][support][routing][explain]") {
    const std::string tenant = UniqueTenant("rx");
    SupportClient api(TokenFor(tenant));
    SupportRoutingClient routing(TokenFor(tenant));
    const spv1::Queue q = routing.MustCreateQueue("Big", {Member("agent-7")});
    const spv1::Case one = api.MustCreateCase("The one routed often");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // 100,000 cases over the statuses, 50 agents (a fifth unassigned), 20 queues and 1,000 contacts (as in
        // support_explain_test.cpp, so the shared table's statistics stay alike); 100,000 routings of one case.
        tx.exec(
            "INSERT INTO cases (tenant_id, id, number, subject, status, assignee_id, queue_id, contact_id, "
            "create_time) "
            "SELECT " +
            t +
            ", gen_random_uuid(), 1000 + g, 'pv1.Case' || g, "
            "(ARRAY['NEW','OPEN','PENDING_CUSTOMER','ON_HOLD','SOLVED','CLOSED'])[1 + g % 6], "
            "CASE WHEN g % 5 = 0 THEN '' ELSE 'agent-' || g % 50 END, "
            "CASE WHEN g % 20 = 0 THEN " +
            tx.quote(q.id()) +
            "::uuid ELSE md5('queue' || g % 20)::uuid END, "
            "md5('contact' || g % 1000)::uuid, "
            "now() - g * interval '1 second' FROM generate_series(1, 100000) g");
        tx.exec(
            "INSERT INTO case_routings (tenant_id, id, case_id, queue_id, rule_index, reason, create_time) SELECT " +
            t + ", gen_random_uuid(), " + tx.quote(one.id()) + "::uuid, " + tx.quote(q.id()) +
            "::uuid, -1, 'REROUTE', now() - g * interval '1 second' FROM generate_series(1, 100000) g");
        tx.exec("ANALYZE cases");
        tx.exec("ANALYZE case_routings");
        tx.commit();
    }
    const std::string t = "'" + tenant + "'";
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        std::string args;
        const char* index;
        bool sort_allowed;  // a sort of the few rows an index returned
    };
    const Case cases[] = {
        {"agents' loads", crm::support::queues::sql::kLoads, t + ", '{agent-7,agent-8}'", "cases_active_assignee",
         false},
        {"waiting cases of a queue", crm::support::queues::sql::kWaitingCases, t + ", '{" + q.id() + "}', 1000",
         "cases_queue_waiting", true},
        {"a case's routings", crm::support::queues::sql::kListRoutings,
         t + ", '" + one.id() + "', -62135596800000000, '00000000-0000-0000-0000-000000000000', 51",
         "case_routings_case", false},
    };
    for (const auto& c : cases) {
        const QueryPlan plan = ExplainAs(conn, "support_app", tenant, c.statement.text, c.args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        CHECK_FALSE(plan.Has("Seq Scan cases"));
        CHECK_FALSE(plan.Has("Seq Scan case_routings"));
        CHECK(plan.Uses(c.index));
        if (!c.sort_allowed) CHECK_FALSE(plan.Has("Sort"));
    }
}
