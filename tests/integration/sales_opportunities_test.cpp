// Pipelines and opportunities through the gateway: the default pipeline (race-safe), custom pipelines, the stage rules,
// stage history with time in stage, won/lost, idempotent create, list filters and paging, and the events of each
// change.
#include <crm/sales/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <future>
#include <set>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/sales_client.hpp"

using namespace crm::test;
namespace sev = crm::sales::events::v1;

namespace {

sv1::Pipeline SixStages(const std::string& name) {
    sv1::Pipeline p;
    p.set_name(name);
    const std::pair<const char*, std::pair<int, sv1::ForecastCategory>> stages[] = {
        {"Lead in", {5, sv1::FORECAST_CATEGORY_PIPELINE}}, {"Demo", {30, sv1::FORECAST_CATEGORY_PIPELINE}},
        {"Offer", {60, sv1::FORECAST_CATEGORY_BEST_CASE}}, {"Verbal yes", {90, sv1::FORECAST_CATEGORY_COMMIT}},
        {"Won", {100, sv1::FORECAST_CATEGORY_CLOSED_WON}}, {"Lost", {0, sv1::FORECAST_CATEGORY_CLOSED_LOST}}};
    for (const auto& [n, v] : stages) {
        auto* s = p.add_stages();
        s->set_name(n);
        s->set_probability(v.first);
        s->set_forecast_category(v.second);
    }
    return p;
}

}  // namespace

TEST_CASE("sales: the default pipeline is created once on first use, even by concurrent calls",
          "[integration][sales]") {
    const std::string tenant = UniqueTenant("sp");
    EventTap tap("crm.sales.v1");
    tap.Ignore("crm.sales.events.v1.ForecastSnapshotTaken");  // the scheduler may snapshot the tenant any time
    std::vector<std::future<sv1::Pipeline>> calls;
    for (int i = 0; i < 6; ++i) {
        calls.push_back(std::async(std::launch::async, [&] {
            SalesClient api(TokenFor(tenant));
            auto r = api.GetDefaultPipeline({});
            if (!r.ok()) FAIL("GetDefaultPipeline: " << r.status.error_message());
            return r.response.pipeline();
        }));
    }
    std::set<std::string> ids;
    for (auto& c : calls) ids.insert(c.get().id());
    CHECK(ids.size() == 1);
    CHECK(CountRows("pipelines", tenant) == 1);
    CHECK(CountRows("stages", tenant) == 6);
    SalesClient api(TokenFor(tenant));
    const sv1::Pipeline p = api.MustDefaultPipeline();
    CHECK(p.is_default());
    REQUIRE(p.stages_size() == 6);
    CHECK(p.stages(0).name() == "Qualification");
    CHECK(p.stages(0).probability() == 10);
    CHECK(p.stages(3).forecast_category() == sv1::FORECAST_CATEGORY_COMMIT);
    CHECK(p.stages(4).forecast_category() == sv1::FORECAST_CATEGORY_CLOSED_WON);
    CHECK(p.stages(5).forecast_category() == sv1::FORECAST_CATEGORY_CLOSED_LOST);
    auto events = tap.WaitFor(tenant, 1, std::chrono::seconds(20));
    REQUIRE(events.size() == 1);
    CHECK(events[0].envelope.event_type() == "crm.sales.events.v1.PipelineCreated");
    CHECK(events[0].envelope.aggregate_id() == p.id());
}

TEST_CASE("sales: custom pipelines are validated, listed and updated", "[integration][sales]") {
    const std::string tenant = UniqueTenant("sp");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));

    sv1::CreatePipelineRequest bad;
    *bad.mutable_pipeline() = SixStages("");
    bad.mutable_pipeline()->mutable_stages()->DeleteSubrange(1, 2);  // 4 stages
    auto refused = api.CreatePipeline(bad);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(refused.status, "pipeline.name"));
    CHECK(HasViolation(refused.status, "pipeline.stages"));
    sv1::CreatePipelineRequest wrong_prob;
    *wrong_prob.mutable_pipeline() = SixStages("Enterprise");
    wrong_prob.mutable_pipeline()->mutable_stages(4)->set_probability(90);
    auto refused2 = api.CreatePipeline(wrong_prob);
    CHECK(refused2.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(refused2.status, "pipeline.stages[4].probability"));
    CHECK(CountRows("pipelines", tenant) == 0);  // nothing written, not even the default

    sv1::CreatePipelineRequest create;
    *create.mutable_pipeline() = SixStages("Enterprise");
    create.set_request_id("pipe-1");
    auto created = api.CreatePipeline(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const sv1::Pipeline p = created.response.pipeline();
    CHECK_FALSE(p.is_default());
    CHECK(p.stages_size() == 6);
    auto again = api.CreatePipeline(create);
    REQUIRE(again.ok());
    CHECK(again.response.pipeline().id() == p.id());
    CHECK(CountRows("pipelines", tenant) == 2);  // the default one and this one

    sv1::ListPipelinesRequest list;
    auto listed = api.ListPipelines(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.pipelines_size() == 2);
    CHECK(listed.response.pipelines(0).is_default());
    CHECK(listed.response.pipelines(1).id() == p.id());

    sv1::UpdatePipelineRequest update;
    *update.mutable_pipeline() = p;
    update.mutable_pipeline()->set_name("Enterprise deals");
    update.mutable_pipeline()->mutable_stages(1)->set_probability(35);
    update.mutable_update_mask()->add_paths("name");
    update.mutable_update_mask()->add_paths("stages");
    auto updated = api.UpdatePipeline(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.pipeline().name() == "Enterprise deals");
    CHECK(updated.response.pipeline().stages(1).probability() == 35);
    CHECK(updated.response.pipeline().stages(1).id() == p.stages(1).id());
    CHECK(updated.response.pipeline().version() == 2);

    SECTION("a closed stage cannot move between open ones, and a stale etag is ABORTED") {
        sv1::UpdatePipelineRequest reorder;
        *reorder.mutable_pipeline() = updated.response.pipeline();
        reorder.mutable_pipeline()->mutable_stages()->SwapElements(3, 4);
        reorder.mutable_update_mask()->add_paths("stages");
        CHECK(api.UpdatePipeline(reorder).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        update.set_etag(p.etag());
        update.mutable_pipeline()->set_name("Stale");
        CHECK(api.UpdatePipeline(update).status.error_code() == grpc::StatusCode::ABORTED);
    }
}

TEST_CASE("sales: an opportunity's life: stages, rules, history, won", "[integration][sales]") {
    const std::string tenant = UniqueTenant("so");
    SalesClient api(TokenFor(tenant, {"sales_rep"}));
    EventTap tap("crm.sales.v1");
    tap.Ignore("crm.sales.events.v1.ForecastSnapshotTaken");  // the scheduler may snapshot the tenant any time
    const sv1::Pipeline p = api.MustDefaultPipeline();

    // The links name real records of the tenant (sales checks them with contacts).
    ContactsClient contacts(TokenFor(tenant));
    const cv1::Contact person = contacts.MustCreate("Ada", "Buyer");
    cv1::CreateCompanyRequest company_req;
    company_req.mutable_company()->set_name("ACME " + tenant);
    auto company = contacts.CreateCompany(company_req);
    REQUIRE(company.ok());

    sv1::CreateOpportunityRequest create;
    auto* o = create.mutable_opportunity();
    o->set_name("ACME renewal");
    o->mutable_amount()->set_amount_minor(1250000);
    o->mutable_amount()->set_currency_code("EUR");
    o->set_contact_id(person.id());
    o->set_company_id(company.response.company().id());
    o->set_source_campaign_id("spring-webinar-2026");  // opaque: the sender's own campaign id
    o->set_lead_id("9c4f2eab-5a0d-4f4b-8a98-3f4c8d4b5e6f");
    auto created = api.CreateOpportunity(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    sv1::Opportunity deal = created.response.opportunity();
    CHECK(deal.pipeline_id() == p.id());
    CHECK(deal.stage_id() == p.stages(0).id());
    CHECK(deal.stage_name() == "Qualification");
    CHECK(deal.probability() == 10);
    CHECK(deal.forecast_category() == sv1::FORECAST_CATEGORY_PIPELINE);
    CHECK(deal.owner_id() == "test-user");  // the caller
    CHECK(deal.status() == sv1::OPPORTUNITY_STATUS_OPEN);
    CHECK(deal.lead_id() == "9c4f2eab-5a0d-4f4b-8a98-3f4c8d4b5e6f");
    CHECK(deal.source_campaign_id() == "spring-webinar-2026");
    CHECK(deal.version() == 1);

    // Commit needs a close date.
    sv1::MoveOpportunityStageRequest to_commit;
    to_commit.set_id(deal.id());
    to_commit.set_stage_id(p.stages(3).id());
    auto refused = api.MoveOpportunityStage(to_commit);
    CHECK(refused.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(refused.status) == "CLOSE_DATE_REQUIRED");

    deal = api.MustMove(deal, p.stages(2).id());
    CHECK(deal.probability() == 50);
    CHECK(deal.forecast_category() == sv1::FORECAST_CATEGORY_BEST_CASE);

    sv1::UpdateOpportunityRequest update;
    update.mutable_opportunity()->set_id(deal.id());
    update.mutable_opportunity()->set_expected_close_date("2031-06-30");
    update.mutable_opportunity()->mutable_amount()->set_amount_minor(1300000);
    update.mutable_opportunity()->set_name("ignored: not in the mask");
    update.mutable_update_mask()->add_paths("expected_close_date");
    update.mutable_update_mask()->add_paths("amount");
    update.set_etag(deal.etag());
    auto updated = api.UpdateOpportunity(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    deal = updated.response.opportunity();
    CHECK(deal.amount().amount_minor() == 1300000);
    CHECK(deal.name() == "ACME renewal");
    CHECK(deal.expected_close_date() == "2031-06-30");

    to_commit.set_probability(85);
    auto committed = api.MoveOpportunityStage(to_commit);
    INFO(committed.status.error_message());
    REQUIRE(committed.ok());
    deal = committed.response.opportunity();
    CHECK(deal.probability() == 85);
    CHECK(deal.forecast_category() == sv1::FORECAST_CATEGORY_COMMIT);

    // A commit-stage deal cannot lose its close date.
    sv1::UpdateOpportunityRequest clear_date;
    clear_date.mutable_opportunity()->set_id(deal.id());
    clear_date.mutable_update_mask()->add_paths("expected_close_date");
    CHECK(api.UpdateOpportunity(clear_date).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

    sv1::WinOpportunityRequest win;
    win.set_id(deal.id());
    win.set_etag(deal.etag());
    auto won = api.WinOpportunity(win);
    INFO(won.status.error_message());
    REQUIRE(won.ok());
    deal = won.response.opportunity();
    CHECK(deal.status() == sv1::OPPORTUNITY_STATUS_WON);
    CHECK(deal.stage_id() == p.stages(4).id());
    CHECK(deal.probability() == 100);
    CHECK(deal.forecast_category() == sv1::FORECAST_CATEGORY_CLOSED_WON);
    CHECK(deal.close_time().seconds() > 0);

    // A closed deal does not move and cannot be changed or closed again.
    to_commit.set_stage_id(p.stages(1).id());
    auto moved = api.MoveOpportunityStage(to_commit);
    CHECK(moved.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(moved.status) == "OPPORTUNITY_CLOSED");
    update.set_etag("");
    CHECK(api.UpdateOpportunity(update).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    sv1::LoseOpportunityRequest lose;
    lose.set_id(deal.id());
    lose.set_reason("price");
    CHECK(api.LoseOpportunity(lose).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

    // Stage history: Qualification -> Proposal -> Negotiation -> Closed won, each with entry and exit.
    sv1::ListStageHistoryRequest history;
    history.set_opportunity_id(deal.id());
    auto h = api.ListStageHistory(history);
    REQUIRE(h.ok());
    REQUIRE(h.response.entries_size() == 4);
    CHECK(h.response.entries(0).stage_name() == "Qualification");
    CHECK(h.response.entries(1).stage_name() == "Proposal");
    CHECK(h.response.entries(2).stage_name() == "Negotiation");
    CHECK(h.response.entries(2).probability() == 85);
    CHECK(h.response.entries(3).stage_name() == "Closed won");
    for (int i = 0; i < 3; ++i) {
        CHECK(h.response.entries(i).has_exit_time());
        CHECK(h.response.entries(i).exit_time().seconds() >= h.response.entries(i).enter_time().seconds());
        CHECK(h.response.entries(i).exit_time().seconds() == h.response.entries(i + 1).enter_time().seconds());
        CHECK(h.response.entries(i).duration_seconds() >= 0);
    }
    CHECK_FALSE(h.response.entries(3).has_exit_time());
    CHECK(h.response.entries(3).changed_by() == "test-user");

    // Events: created, stage changed, updated, stage changed, stage changed + won; versions 1..6.
    auto events = tap.WaitFor(tenant, 7, std::chrono::seconds(20));
    std::vector<crm::common::v1::EventEnvelope> deal_events;
    for (const auto& e : events) {
        if (e.envelope.aggregate_type() == "opportunity") {
            deal_events.push_back(e.envelope);
            CHECK(e.key == deal.id());
        }
    }
    const char* types[] = {"OpportunityCreated",      "OpportunityStageChanged", "OpportunityUpdated",
                           "OpportunityStageChanged", "OpportunityStageChanged", "OpportunityWon"};
    REQUIRE(deal_events.size() == 6);
    for (size_t i = 0; i < 6; ++i) {
        const auto& env = deal_events[i];
        CHECK(env.event_type() == std::string("crm.sales.events.v1.") + types[i]);
        CHECK(env.source() == "sales");
        CHECK(env.tenant_id() == tenant);
        CHECK(env.aggregate_id() == deal.id());
        CHECK(env.aggregate_version() == static_cast<long>(i + 1));
        CHECK(env.occurred_at().seconds() > 0);
        CHECK_FALSE(env.event_id().empty());
    }
    CHECK(deal.version() == 6);
    sev::OpportunityStageChanged changed;
    REQUIRE(deal_events[3].payload().UnpackTo(&changed));
    CHECK(changed.tenant_id() == tenant);
    CHECK(changed.from_stage_name() == "Proposal");
    CHECK(changed.to_stage_name() == "Negotiation");
    CHECK(changed.from_probability() == 50);
    CHECK(changed.to_probability() == 85);
    CHECK(changed.to_forecast_category() == sv1::FORECAST_CATEGORY_COMMIT);
    CHECK(changed.amount().amount_minor() == 1300000);
    CHECK(changed.time_in_from_stage_seconds() >= 0);
    CHECK(changed.opportunity().expected_close_date() == "2031-06-30");
    sev::OpportunityWon won_event;
    REQUIRE(deal_events[5].payload().UnpackTo(&won_event));
    CHECK(won_event.amount().amount_minor() == 1300000);
    CHECK(won_event.amount().currency_code() == "EUR");
    CHECK(won_event.opportunity().pipeline_id() == p.id());
    CHECK(won_event.sales_cycle_seconds() >= 0);
    sev::OpportunityUpdated updated_event;
    REQUIRE(deal_events[2].payload().UnpackTo(&updated_event));
    CHECK(updated_event.previous_amount().amount_minor() == 1250000);
    CHECK(std::set<std::string>(updated_event.changed_paths().begin(), updated_event.changed_paths().end()) ==
          std::set<std::string>{"amount", "expected_close_date"});
}

TEST_CASE("sales: lost with a reason, final amount on win, soft delete", "[integration][sales]") {
    const std::string tenant = UniqueTenant("so");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));
    const sv1::Pipeline p = api.MustDefaultPipeline();
    sv1::Opportunity a = api.MustCreateOpportunity("Lost one", 5000);
    sv1::LoseOpportunityRequest lose;
    lose.set_id(a.id());
    auto no_reason = api.LoseOpportunity(lose);
    CHECK(no_reason.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(no_reason.status, "reason"));
    lose.set_reason("competitor");
    auto lost = api.LoseOpportunity(lose);
    REQUIRE(lost.ok());
    CHECK(lost.response.opportunity().status() == sv1::OPPORTUNITY_STATUS_LOST);
    CHECK(lost.response.opportunity().lost_reason() == "competitor");
    CHECK(lost.response.opportunity().stage_id() == p.stages(5).id());
    CHECK(lost.response.opportunity().probability() == 0);

    sv1::Opportunity b = api.MustCreateOpportunity("Won one", 7000);
    sv1::WinOpportunityRequest win;
    win.set_id(b.id());
    win.mutable_amount()->set_amount_minor(6500);
    win.mutable_amount()->set_currency_code("USD");
    CHECK(api.WinOpportunity(win).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);  // other currency
    win.mutable_amount()->set_currency_code("EUR");
    auto won = api.WinOpportunity(win);
    REQUIRE(won.ok());
    CHECK(won.response.opportunity().amount().amount_minor() == 6500);

    sv1::DeleteOpportunityRequest del;
    del.set_id(b.id());
    auto deleted = api.DeleteOpportunity(del);
    REQUIRE(deleted.ok());
    CHECK(deleted.response.opportunity().delete_time().seconds() > 0);
    sv1::ListOpportunitiesRequest list;
    auto listed = api.ListOpportunities(list);
    REQUIRE(listed.ok());
    CHECK(listed.response.opportunities_size() == 1);
    list.set_show_deleted(true);
    CHECK(api.ListOpportunities(list).response.opportunities_size() == 2);
    sv1::GetOpportunityRequest get;
    get.set_id(b.id());
    CHECK(api.GetOpportunity(get).response.opportunity().delete_time().seconds() > 0);
}

TEST_CASE("sales: a retried CreateOpportunity with the same request_id creates one deal and one event",
          "[integration][sales]") {
    const std::string tenant = UniqueTenant("so");
    SalesClient api(TokenFor(tenant, {"sales_rep"}));
    api.MustDefaultPipeline();
    EventTap tap("crm.sales.v1");
    tap.Ignore("crm.sales.events.v1.ForecastSnapshotTaken");  // the scheduler may snapshot the tenant any time
    // The default pipeline's event may still be on its way from the outbox when the tap starts: only deals count.
    tap.Ignore("crm.sales.events.v1.PipelineCreated");
    const std::string request_id = crm::common::NewUuid();
    sv1::Opportunity first = api.MustCreateOpportunity("Converted lead", 99900, "EUR", "", "", request_id);
    sv1::Opportunity second = api.MustCreateOpportunity("Converted lead (retry)", 99900, "EUR", "", "", request_id);
    CHECK(first.id() == second.id());
    CHECK(second.name() == "Converted lead");
    CHECK(CountRows("opportunities", tenant) == 1);
    auto events = tap.WaitFor(tenant, 1, std::chrono::seconds(15));
    CHECK(events.size() == 1);
}

TEST_CASE("sales: bad opportunity input is INVALID_ARGUMENT with every field named, and writes nothing",
          "[integration][sales]") {
    const std::string tenant = UniqueTenant("so");
    SalesClient api(TokenFor(tenant, {"sales_rep"}));
    sv1::CreateOpportunityRequest create;
    auto* o = create.mutable_opportunity();
    o->mutable_amount()->set_amount_minor(-1);
    o->mutable_amount()->set_currency_code("eur");
    o->set_expected_close_date("2031-02-30");
    o->set_probability(101);
    o->set_contact_id("not-a-uuid");
    o->set_description(std::string(4001, 'x'));
    create.set_request_id("has space");
    auto r = api.CreateOpportunity(create);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field : {"opportunity.name", "opportunity.amount.amount_minor", "opportunity.amount.currency_code",
                              "opportunity.expected_close_date", "opportunity.probability", "opportunity.contact_id",
                              "opportunity.description", "request_id"}) {
        INFO(field);
        CHECK(HasViolation(r.status, field));
    }
    CHECK(CountRows("opportunities", tenant) == 0);
    CHECK(CountRows("pipelines", tenant) == 0);
    CHECK(QueryScalar("sales", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant + "'") == "0");

    const sv1::Pipeline p = api.MustDefaultPipeline();
    create.Clear();
    create.mutable_opportunity()->set_name("Starts closed");
    create.mutable_opportunity()->mutable_amount()->set_amount_minor(1);
    create.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    create.mutable_opportunity()->set_stage_id(p.stages(4).id());
    auto closed_start = api.CreateOpportunity(create);
    CHECK(closed_start.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(closed_start.status, "opportunity.stage_id"));
    create.mutable_opportunity()->set_stage_id(p.stages(3).id());  // commit without a date
    CHECK(api.CreateOpportunity(create).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(CountRows("opportunities", tenant) == 0);

    sv1::ListOpportunitiesRequest list;
    list.set_page_size(-1);
    list.set_close_date_from("yesterday");
    auto listed = api.ListOpportunities(list);
    CHECK(listed.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("sales: ListOpportunities filters by pipeline, stage, owner and close date, and pages without gaps",
          "[integration][sales]") {
    const std::string tenant = UniqueTenant("so");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));
    const sv1::Pipeline p = api.MustDefaultPipeline();
    std::vector<sv1::Opportunity> all;
    for (int i = 0; i < 9; ++i) {
        const std::string date = "2031-0" + std::to_string(1 + i % 3) + "-15";
        all.push_back(
            api.MustCreateOpportunity("Deal " + std::to_string(i), 1000 * (i + 1), "EUR", date, i % 2 ? "ann" : "bob"));
    }
    api.MustMove(all[0], p.stages(2).id());
    api.MustMove(all[4], p.stages(2).id());

    sv1::ListOpportunitiesRequest by_stage;
    by_stage.set_pipeline_id(p.id());
    by_stage.set_stage_id(p.stages(2).id());
    auto staged = api.ListOpportunities(by_stage);
    REQUIRE(staged.ok());
    REQUIRE(staged.response.opportunities_size() == 2);
    CHECK(staged.response.opportunities(0).id() == all[0].id());
    CHECK(staged.response.opportunities(1).id() == all[4].id());

    sv1::ListOpportunitiesRequest by_owner;
    by_owner.set_owner_id("ann");
    CHECK(api.ListOpportunities(by_owner).response.opportunities_size() == 4);

    sv1::ListOpportunitiesRequest by_close;
    by_close.set_close_date_from("2031-02-01");
    by_close.set_close_date_to("2031-02-28");
    by_close.set_order_by(sv1::OPPORTUNITY_ORDER_EXPECTED_CLOSE_DATE);
    auto feb = api.ListOpportunities(by_close);
    REQUIRE(feb.ok());
    CHECK(feb.response.opportunities_size() == 3);
    for (const auto& o : feb.response.opportunities()) CHECK(o.expected_close_date() == "2031-02-15");

    for (auto order : {sv1::OPPORTUNITY_ORDER_CREATE_TIME, sv1::OPPORTUNITY_ORDER_EXPECTED_CLOSE_DATE}) {
        sv1::ListOpportunitiesRequest page;
        page.set_page_size(2);
        page.set_order_by(order);
        std::vector<std::string> seen;
        std::string last_date;
        for (int guard = 0; guard < 10; ++guard) {
            auto r = api.ListOpportunities(page);
            REQUIRE(r.ok());
            for (const auto& o : r.response.opportunities()) {
                seen.push_back(o.id());
                if (order == sv1::OPPORTUNITY_ORDER_EXPECTED_CLOSE_DATE) {
                    CHECK(o.expected_close_date() >= last_date);
                    last_date = o.expected_close_date();
                }
            }
            if (r.response.next_page_token().empty()) break;
            page.set_page_token(r.response.next_page_token());
        }
        CHECK(seen.size() == 9);
        CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 9);
    }
    SECTION("a page token is bound to its filters") {
        sv1::ListOpportunitiesRequest page;
        page.set_page_size(2);
        auto r = api.ListOpportunities(page);
        REQUIRE(r.ok());
        page.set_page_token(r.response.next_page_token());
        page.set_owner_id("ann");
        CHECK(api.ListOpportunities(page).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    }
}
