// Campaigns, cost lines and tracked links through the gateway: every RPC's happy path, bad input naming every field
// and writing nothing, another tenant's ids (NOT_FOUND, nothing leaks), idempotent retries, the life cycle, one event
// per change with a correct envelope, UTM parameters and signed link tokens, and the list queries' plans at scale.
#include <crm/marketing/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <set>

#include "../support/events.hpp"
#include "../support/explain.hpp"
#include "../support/marketing_client.hpp"
#include "campaigns/sql.hpp"
#include "crm/common/public_token.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace mev = crm::marketing::events::v1;

namespace {

std::string Count(const std::string& table, const std::string& tenant) {
    return QueryScalar("marketing", "SELECT count(*) FROM " + table + " WHERE tenant_id = '" + tenant + "'");
}

std::set<std::string> Fields(const grpc::Status& s) {
    std::set<std::string> out;
    for (const auto& v : FieldViolations(s)) out.insert(v.field);
    return out;
}

mv1::AddCampaignCostRequest Cost(const std::string& campaign, std::int64_t minor, const std::string& currency,
                                 const std::string& request_id = "") {
    mv1::AddCampaignCostRequest req;
    req.set_campaign_id(campaign);
    req.mutable_cost()->set_description("LinkedIn ads");
    req.mutable_cost()->mutable_amount()->set_amount_minor(minor);
    req.mutable_cost()->mutable_amount()->set_currency_code(currency);
    req.mutable_cost()->set_incur_date("2026-03-01");
    req.set_request_id(request_id);
    return req;
}

}  // namespace

TEST_CASE("marketing: campaigns are created, read, listed and updated along their life cycle",
          "[integration][marketing][campaigns]") {
    const std::string tenant = UniqueTenant("mk");
    MarketingClient api(TokenFor(tenant, {"marketer"}));
    EventTap tap("crm.marketing.v1");

    mv1::CreateCampaignRequest create;
    auto* c = create.mutable_campaign();
    c->set_name("  Spring Launch 2026 ");
    c->set_type(mv1::CAMPAIGN_TYPE_WEBINAR);
    c->set_start_date("2026-03-01");
    c->set_end_date("2026-03-31");
    c->mutable_budget()->set_amount_minor(500000);
    c->mutable_budget()->set_currency_code("EUR");
    c->set_goal("200 MQLs");
    create.set_request_id("spring-1");
    auto created = api.CreateCampaign(create);
    REQUIRE(created.ok());
    const mv1::Campaign campaign = created.response.campaign();
    CHECK(campaign.name() == "Spring Launch 2026");
    CHECK(campaign.status() == mv1::CAMPAIGN_STATUS_PLANNED);
    CHECK(campaign.utm_campaign() == "spring-launch-2026");
    CHECK(campaign.owner_id() == "test-user");
    CHECK(campaign.actual_cost().amount_minor() == 0);
    CHECK(campaign.actual_cost().currency_code() == "EUR");
    CHECK(campaign.version() == 1);
    CHECK(campaign.etag() == "v1");

    // A retry with the same request_id returns the first campaign and writes nothing.
    auto again = api.CreateCampaign(create);
    REQUIRE(again.ok());
    CHECK(again.response.campaign().id() == campaign.id());
    CHECK(Count("campaigns", tenant) == "1");

    mv1::GetCampaignRequest get;
    get.set_id(campaign.id());
    CHECK(api.GetCampaign(get).response.campaign().goal() == "200 MQLs");

    // A child campaign in the program; the list filters by parent, status and type.
    mv1::CreateCampaignRequest child;
    child.mutable_campaign()->set_name("Spring ads");
    child.mutable_campaign()->set_type(mv1::CAMPAIGN_TYPE_PAID_ADS);
    child.mutable_campaign()->set_status(mv1::CAMPAIGN_STATUS_ACTIVE);
    child.mutable_campaign()->set_parent_campaign_id(campaign.id());
    auto kid = api.CreateCampaign(child);
    REQUIRE(kid.ok());
    mv1::ListCampaignsRequest list;
    list.set_parent_campaign_id(campaign.id());
    auto listed = api.ListCampaigns(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.campaigns_size() == 1);
    CHECK(listed.response.campaigns(0).id() == kid.response.campaign().id());
    list.Clear();
    list.set_status(mv1::CAMPAIGN_STATUS_PLANNED);
    CHECK(api.ListCampaigns(list).response.campaigns_size() == 1);
    list.Clear();
    list.set_page_size(1);
    auto page1 = api.ListCampaigns(list);
    REQUIRE(page1.response.campaigns_size() == 1);
    CHECK(page1.response.campaigns(0).id() == kid.response.campaign().id());  // newest first
    list.set_page_token(page1.response.next_page_token());
    auto page2 = api.ListCampaigns(list);
    REQUIRE(page2.response.campaigns_size() == 1);
    CHECK(page2.response.campaigns(0).id() == campaign.id());
    CHECK(page2.response.next_page_token().empty());
    list.set_type(mv1::CAMPAIGN_TYPE_EMAIL);  // a token of other filters is refused
    CHECK(api.ListCampaigns(list).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);

    // Update: status PLANNED → ACTIVE with the etag, then a stale etag is ABORTED, a jump back is refused.
    mv1::UpdateCampaignRequest update;
    update.mutable_campaign()->set_id(campaign.id());
    update.mutable_campaign()->set_status(mv1::CAMPAIGN_STATUS_ACTIVE);
    update.mutable_campaign()->set_etag("v1");
    update.mutable_update_mask()->add_paths("status");
    auto updated = api.UpdateCampaign(update);
    REQUIRE(updated.ok());
    CHECK(updated.response.campaign().status() == mv1::CAMPAIGN_STATUS_ACTIVE);
    CHECK(updated.response.campaign().version() == 2);
    CHECK(api.UpdateCampaign(update).status.error_code() == grpc::StatusCode::ABORTED);
    update.mutable_campaign()->set_etag("");
    update.mutable_campaign()->set_status(mv1::CAMPAIGN_STATUS_PLANNED);
    auto back = api.UpdateCampaign(update);
    CHECK(back.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(back.status) == "CAMPAIGN_STATUS");
    // A parent that is the campaign's own child would make a cycle.
    mv1::UpdateCampaignRequest cycle;
    cycle.mutable_campaign()->set_id(campaign.id());
    cycle.mutable_campaign()->set_parent_campaign_id(kid.response.campaign().id());
    cycle.mutable_update_mask()->add_paths("parent_campaign_id");
    CHECK(Fields(api.UpdateCampaign(cycle).status) == std::set<std::string>{"campaign.parent_campaign_id"});
    // Completed is final: dates no longer change, the name still does.
    update.mutable_campaign()->set_status(mv1::CAMPAIGN_STATUS_COMPLETED);
    REQUIRE(api.UpdateCampaign(update).ok());
    mv1::UpdateCampaignRequest late;
    late.mutable_campaign()->set_id(campaign.id());
    late.mutable_campaign()->set_end_date("2026-04-30");
    late.mutable_update_mask()->add_paths("end_date");
    CHECK(ErrorReason(api.UpdateCampaign(late).status) == "CAMPAIGN_CLOSED");
    late.mutable_campaign()->set_name("Spring Launch (done)");
    late.mutable_update_mask()->set_paths(0, "name");
    REQUIRE(api.UpdateCampaign(late).ok());

    // Exactly one event per change with a correct envelope; one campaign's events in order (other aggregates may
    // arrive on other partitions).
    const auto events = tap.WaitFor(tenant, 5, 20s);
    REQUIRE(events.size() == 5);
    std::vector<crm::test::ReceivedEvent> own;
    int children = 0;
    for (const auto& e : events) {
        const auto& env = e.envelope;
        CHECK(env.source() == "marketing");
        CHECK(env.tenant_id() == tenant);
        CHECK(env.aggregate_type() == "campaign");
        CHECK(e.key == env.aggregate_id());
        if (env.aggregate_id() == campaign.id()) {
            own.push_back(e);
        } else {
            ++children;
            CHECK(env.event_type() == "crm.marketing.events.v1.CampaignCreated");
        }
    }
    CHECK(children == 1);
    REQUIRE(own.size() == 4);
    const char* types[] = {"CampaignCreated", "CampaignUpdated", "CampaignUpdated", "CampaignUpdated"};
    for (std::size_t i = 0; i < own.size(); ++i) {
        CHECK(own[i].envelope.event_type() == std::string("crm.marketing.events.v1.") + types[i]);
        CHECK(own[i].envelope.aggregate_version() == static_cast<std::int64_t>(i + 1));
    }
    mev::CampaignUpdated activated;
    REQUIRE(own[1].envelope.payload().UnpackTo(&activated));
    CHECK(activated.previous_status() == mv1::CAMPAIGN_STATUS_PLANNED);
    CHECK(activated.campaign().status() == mv1::CAMPAIGN_STATUS_ACTIVE);
    CHECK(std::vector<std::string>(activated.changed_paths().begin(), activated.changed_paths().end()) ==
          std::vector<std::string>{"status"});
}

TEST_CASE("marketing: cost lines make the actual cost in the campaign's one currency",
          "[integration][marketing][campaigns]") {
    const std::string tenant = UniqueTenant("mk");
    MarketingClient api(TokenFor(tenant, {"marketer"}));
    const mv1::Campaign campaign = api.MustCreateCampaign("Ads");
    auto first = api.AddCampaignCost(Cost(campaign.id(), 12345, "USD", "cost-1"));
    REQUIRE(first.ok());
    CHECK(first.response.campaign().actual_cost().amount_minor() == 12345);
    CHECK(first.response.campaign().actual_cost().currency_code() == "USD");
    // The retry returns the same line and adds nothing.
    auto retry = api.AddCampaignCost(Cost(campaign.id(), 12345, "USD", "cost-1"));
    REQUIRE(retry.ok());
    CHECK(retry.response.cost().id() == first.response.cost().id());
    CHECK(retry.response.campaign().actual_cost().amount_minor() == 12345);
    REQUIRE(api.AddCampaignCost(Cost(campaign.id(), 655, "USD")).ok());
    auto other = api.AddCampaignCost(Cost(campaign.id(), 100, "EUR"));
    CHECK(Fields(other.status) == std::set<std::string>{"cost.amount.currency_code"});
    // A budget in another currency than the cost lines is refused.
    mv1::UpdateCampaignRequest budget;
    budget.mutable_campaign()->set_id(campaign.id());
    budget.mutable_campaign()->mutable_budget()->set_amount_minor(100000);
    budget.mutable_campaign()->mutable_budget()->set_currency_code("EUR");
    budget.mutable_update_mask()->add_paths("budget");
    CHECK(Fields(api.UpdateCampaign(budget).status) == std::set<std::string>{"campaign.budget.currency_code"});
    budget.mutable_campaign()->mutable_budget()->set_currency_code("USD");
    auto with_budget = api.UpdateCampaign(budget);
    REQUIRE(with_budget.ok());
    CHECK(with_budget.response.campaign().actual_cost().amount_minor() == 13000);
    CHECK(with_budget.response.campaign().budget().amount_minor() == 100000);

    mv1::ListCampaignCostsRequest list;
    list.set_campaign_id(campaign.id());
    list.set_page_size(1);
    auto p1 = api.ListCampaignCosts(list);
    REQUIRE(p1.response.costs_size() == 1);
    CHECK(p1.response.costs(0).amount().amount_minor() == 655);
    list.set_page_token(p1.response.next_page_token());
    auto p2 = api.ListCampaignCosts(list);
    REQUIRE(p2.response.costs_size() == 1);
    CHECK(p2.response.costs(0).amount().amount_minor() == 12345);
    CHECK(p2.response.costs(0).incur_date() == "2026-03-01");
    CHECK(Count("campaign_costs", tenant) == "2");

    // Aborted campaigns take no more costs.
    mv1::UpdateCampaignRequest abort;
    abort.mutable_campaign()->set_id(campaign.id());
    abort.mutable_campaign()->set_status(mv1::CAMPAIGN_STATUS_ABORTED);
    abort.mutable_update_mask()->add_paths("status");
    REQUIRE(api.UpdateCampaign(abort).ok());
    CHECK(ErrorReason(api.AddCampaignCost(Cost(campaign.id(), 1, "USD")).status) == "CAMPAIGN_CLOSED");
}

TEST_CASE("marketing: tracked links carry the campaign's UTM parameters and a signed token",
          "[integration][marketing][campaigns]") {
    const std::string tenant = UniqueTenant("mk");
    MarketingClient api(TokenFor(tenant, {"marketer"}));
    const mv1::Campaign campaign = api.MustCreateCampaign("Black Friday!");
    mv1::CreateTrackedLinkRequest req;
    req.set_campaign_id(campaign.id());
    req.mutable_link()->set_destination_url("https://shop.example.com/deals?ref=x&utm_source=old#top");
    req.mutable_link()->set_channel("Email");
    req.mutable_link()->set_source("newsletter");
    req.mutable_link()->set_content("hero");
    req.set_request_id("link-1");
    auto made = api.CreateTrackedLink(req);
    REQUIRE(made.ok());
    const mv1::TrackedLink link = made.response.link();
    CHECK(link.channel() == "email");
    CHECK(link.target_url() ==
          "https://shop.example.com/deals?ref=x&utm_source=newsletter&utm_medium=email&utm_campaign=black-friday&"
          "utm_content=hero#top");
    CHECK(link.tracked_url() == "http://" + RequireEnv("CRM_TEST_GATEWAY_HTTP") + "/r/" + link.token());
    const auto token = crm::common::VerifyPublicToken("tracked-link", link.token(), 3, RequireEnv("CRM_INTERNAL_KEY"),
                                                      std::time(nullptr));
    REQUIRE(token);
    CHECK(token->tenant == tenant);
    CHECK(token->fields == std::vector<std::string>{link.id(), "", ""});
    CHECK(api.CreateTrackedLink(req).response.link().id() == link.id());  // idempotent
    CHECK(Count("tracked_links", tenant) == "1");
    mv1::ListTrackedLinksRequest list;
    list.set_campaign_id(campaign.id());
    auto listed = api.ListTrackedLinks(list);
    REQUIRE(listed.response.links_size() == 1);
    CHECK(listed.response.links(0).token() == link.token());
}

TEST_CASE("marketing: bad input names every field and writes nothing", "[integration][marketing][campaigns]") {
    const std::string tenant = UniqueTenant("mk");
    MarketingClient api(TokenFor(tenant, {"marketer"}));
    mv1::CreateCampaignRequest create;
    auto* c = create.mutable_campaign();
    c->set_name("");
    c->set_type(static_cast<mv1::CampaignType>(42));
    c->set_status(mv1::CAMPAIGN_STATUS_COMPLETED);
    c->set_start_date("2026-02-30");
    c->set_end_date("soon");
    c->set_owner_id(" ");
    c->mutable_budget()->set_amount_minor(-5);
    c->mutable_budget()->set_currency_code("XXX");
    c->set_parent_campaign_id("not-a-uuid");
    c->set_utm_campaign("has space");
    c->set_description(std::string(4001, 'd'));
    create.set_request_id(std::string(65, 'r'));
    auto bad = api.CreateCampaign(create);
    CHECK(bad.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(Fields(bad.status) == std::set<std::string>{"campaign.name", "campaign.type", "campaign.status",
                                                      "campaign.start_date", "campaign.end_date",
                                                      "campaign.budget.amount_minor", "campaign.budget.currency_code",
                                                      "campaign.parent_campaign_id", "campaign.utm_campaign",
                                                      "campaign.description", "request_id"});
    // Dates in the wrong order, a parent of nobody: refused as well.
    mv1::CreateCampaignRequest order;
    order.mutable_campaign()->set_name("X");
    order.mutable_campaign()->set_type(mv1::CAMPAIGN_TYPE_EVENT);
    order.mutable_campaign()->set_start_date("2026-05-02");
    order.mutable_campaign()->set_end_date("2026-05-01");
    CHECK(Fields(api.CreateCampaign(order).status) == std::set<std::string>{"campaign.end_date"});
    order.mutable_campaign()->clear_end_date();
    order.mutable_campaign()->set_parent_campaign_id(crm::common::NewUuid());
    CHECK(Fields(api.CreateCampaign(order).status) == std::set<std::string>{"campaign.parent_campaign_id"});
    CHECK(Count("campaigns", tenant) == "0");

    const mv1::Campaign campaign = api.MustCreateCampaign("Ok");
    mv1::UpdateCampaignRequest update;
    update.mutable_campaign()->set_id("nope");
    update.mutable_campaign()->set_etag("7");
    update.mutable_update_mask()->add_paths("utm_campaign");
    CHECK(Fields(api.UpdateCampaign(update).status) ==
          std::set<std::string>{"campaign.id", "campaign.etag", "update_mask"});
    mv1::AddCampaignCostRequest cost;
    cost.set_campaign_id(campaign.id());
    cost.mutable_cost()->mutable_amount()->set_currency_code("EUR");
    cost.mutable_cost()->set_incur_date("2026-13-01");
    CHECK(Fields(api.AddCampaignCost(cost).status) ==
          std::set<std::string>{"cost.description", "cost.amount.amount_minor", "cost.incur_date"});
    mv1::CreateTrackedLinkRequest link;
    link.set_campaign_id(campaign.id());
    link.mutable_link()->set_destination_url("javascript:alert(1)");
    link.mutable_link()->set_source("a&b");
    link.mutable_link()->set_term(std::string(101, 't'));
    CHECK(Fields(api.CreateTrackedLink(link).status) ==
          std::set<std::string>{"link.destination_url", "link.channel", "link.source", "link.term"});
    mv1::ListCampaignsRequest list;
    list.set_page_size(-1);
    list.set_status(static_cast<mv1::CampaignStatus>(9));
    list.set_page_token("forged");
    CHECK(Fields(api.ListCampaigns(list).status) == std::set<std::string>{"page_size", "status"});
    list.Clear();
    list.set_page_token("forged");
    CHECK(Fields(api.ListCampaigns(list).status) == std::set<std::string>{"page_token"});
    CHECK(Count("campaigns", tenant) == "1");
    CHECK(Count("campaign_costs", tenant) == "0");
    CHECK(Count("tracked_links", tenant) == "0");
}

TEST_CASE("marketing: another tenant's ids are NOT_FOUND on every RPC and change nothing",
          "[integration][marketing][tenancy]") {
    const std::string owner = UniqueTenant("mk");
    MarketingClient theirs(TokenFor(owner, {"marketer"}));
    const mv1::Campaign campaign = theirs.MustCreateCampaign("Theirs");
    REQUIRE(theirs.AddCampaignCost(Cost(campaign.id(), 100, "EUR")).ok());

    const std::string intruder = UniqueTenant("mk");
    MarketingClient api(TokenFor(intruder, {"admin"}));
    constexpr auto kNotFound = grpc::StatusCode::NOT_FOUND;
    mv1::GetCampaignRequest get;
    get.set_id(campaign.id());
    CHECK(api.GetCampaign(get).status.error_code() == kNotFound);
    mv1::UpdateCampaignRequest update;
    update.mutable_campaign()->set_id(campaign.id());
    update.mutable_campaign()->set_name("mine");
    update.mutable_update_mask()->add_paths("name");
    CHECK(api.UpdateCampaign(update).status.error_code() == kNotFound);
    CHECK(api.AddCampaignCost(Cost(campaign.id(), 100, "EUR")).status.error_code() == kNotFound);
    mv1::ListCampaignCostsRequest costs;
    costs.set_campaign_id(campaign.id());
    CHECK(api.ListCampaignCosts(costs).status.error_code() == kNotFound);
    mv1::CreateTrackedLinkRequest link;
    link.set_campaign_id(campaign.id());
    link.mutable_link()->set_destination_url("https://example.com");
    link.mutable_link()->set_channel("email");
    link.mutable_link()->set_source("x");
    CHECK(api.CreateTrackedLink(link).status.error_code() == kNotFound);
    mv1::ListTrackedLinksRequest links;
    links.set_campaign_id(campaign.id());
    CHECK(api.ListTrackedLinks(links).status.error_code() == kNotFound);
    mv1::CreateCampaignRequest child;
    child.mutable_campaign()->set_name("child");
    child.mutable_campaign()->set_type(mv1::CAMPAIGN_TYPE_EMAIL);
    child.mutable_campaign()->set_parent_campaign_id(campaign.id());
    CHECK(Fields(api.CreateCampaign(child).status) == std::set<std::string>{"campaign.parent_campaign_id"});
    CHECK(api.ListCampaigns({}).response.campaigns_size() == 0);
    CHECK(Count("campaigns", intruder) == "0");
    CHECK(QueryScalar("marketing", "SELECT name || ':' || actual_cost_minor FROM campaigns WHERE id = '" +
                                       campaign.id() + "'") == "Theirs:100");

    // Roles: analysts read but do not write; sales reps see nothing of marketing.
    MarketingClient analyst(TokenFor(owner, {"analyst"}));
    CHECK(analyst.GetCampaign(get).ok());
    CHECK(analyst.UpdateCampaign(update).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    MarketingClient rep(TokenFor(owner, {"sales_rep"}));
    CHECK(rep.GetCampaign(get).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("marketing: campaign lists are index-backed at 100k campaigns (EXPLAIN as the app role)",
          "[integration][marketing][explain]") {
    const std::string tenant = UniqueTenant("mx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
    {
        pqxx::work tx(conn);
        tx.exec("INSERT INTO campaigns (tenant_id, id, name, type, status, utm_campaign, create_time) SELECT " +
                tx.quote(tenant) +
                ", gen_random_uuid(), 'C' || g, (ARRAY['EMAIL','WEBINAR','EVENT','PAID_ADS','CONTENT'])[1 + g % 5], "
                "(ARRAY['PLANNED','ACTIVE','COMPLETED','ABORTED'])[1 + g % 4], 'c' || g, "
                "now() - g * interval '1 second' FROM generate_series(1, 100000) AS g");
        tx.exec("ANALYZE campaigns");
        tx.commit();
    }
    const std::string t = "'" + tenant + "'";
    const std::string start = "253402300799000000, 'ffffffff-ffff-ffff-ffff-ffffffffffff', 51";
    struct Case {
        const char* what;
        std::string args;
        const char* index;
    };
    const Case cases[] = {
        {"all", t + ", '', '', '', " + start, "campaigns_tenant_create"},
        {"status", t + ", 'ACTIVE', '', '', " + start, "campaigns_tenant_status"},
        {"type", t + ", '', 'WEBINAR', '', " + start, "campaigns_tenant_type"},
    };
    for (const auto& c : cases) {
        const QueryPlan plan =
            ExplainAs(conn, "marketing_app", tenant, crm::marketing::campaigns::sql::kListCampaigns.text, c.args);
        INFO(c.what << "\n" << plan.text);
        CHECK(plan.Uses(c.index));
        CHECK_FALSE(plan.Has("Seq Scan campaigns"));
        CHECK_FALSE(plan.Has("Sort"));
        CHECK(plan.ms < 50);
    }
}
