// Stage management through the gateway: UpdatePipeline adds, reorders and removes stages. Removed stages are
// archived; their open deals move in the same transaction (history rows, one OpportunityStageChanged each), closed and
// deleted deals keep their stage and history; bad input and stale etags change nothing; another tenant's pipeline is
// NOT_FOUND.
#include <crm/sales/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <future>

#include "../support/events.hpp"
#include "../support/sales_client.hpp"

using namespace crm::test;
namespace sev = crm::sales::events::v1;

namespace {

sv1::Stage NewStage(const std::string& name, int probability, sv1::ForecastCategory category) {
    sv1::Stage s;
    s.set_name(name);
    s.set_probability(probability);
    s.set_forecast_category(category);
    return s;
}

// A, B, C (open), Won, Lost.
sv1::Pipeline MustCreateFlow(SalesClient& api, const std::string& name) {
    sv1::CreatePipelineRequest req;
    req.mutable_pipeline()->set_name(name);
    *req.mutable_pipeline()->add_stages() = NewStage("A", 10, sv1::FORECAST_CATEGORY_PIPELINE);
    *req.mutable_pipeline()->add_stages() = NewStage("B", 30, sv1::FORECAST_CATEGORY_PIPELINE);
    *req.mutable_pipeline()->add_stages() = NewStage("C", 60, sv1::FORECAST_CATEGORY_BEST_CASE);
    *req.mutable_pipeline()->add_stages() = NewStage("Won", 100, sv1::FORECAST_CATEGORY_CLOSED_WON);
    *req.mutable_pipeline()->add_stages() = NewStage("Lost", 0, sv1::FORECAST_CATEGORY_CLOSED_LOST);
    auto r = api.CreatePipeline(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.pipeline();
}

sv1::Opportunity MustCreateIn(SalesClient& api, const sv1::Pipeline& p, const std::string& stage_id,
                              const std::string& name) {
    sv1::CreateOpportunityRequest req;
    req.mutable_opportunity()->set_name(name);
    req.mutable_opportunity()->set_pipeline_id(p.id());
    req.mutable_opportunity()->set_stage_id(stage_id);
    req.mutable_opportunity()->mutable_amount()->set_amount_minor(10000);
    req.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    req.mutable_opportunity()->set_expected_close_date(TodayUtc());
    auto r = api.CreateOpportunity(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.opportunity();
}

// An UpdatePipeline of the stages: the given list (ids of existing stages, empty = new) and removals.
sv1::UpdatePipelineRequest StagesUpdate(const sv1::Pipeline& p, const std::vector<sv1::Stage>& stages,
                                        const std::vector<std::pair<std::string, std::string>>& removals = {}) {
    sv1::UpdatePipelineRequest req;
    req.mutable_pipeline()->set_id(p.id());
    for (const auto& s : stages) *req.mutable_pipeline()->add_stages() = s;
    req.mutable_update_mask()->add_paths("stages");
    req.set_etag(p.etag());
    for (const auto& [stage, target] : removals) {
        auto* r = req.add_removed_stages();
        r->set_stage_id(stage);
        r->set_move_open_opportunities_to_stage_id(target);
    }
    return req;
}

sv1::Opportunity Get(SalesClient& api, const std::string& id) {
    sv1::GetOpportunityRequest req;
    req.set_id(id);
    auto r = api.GetOpportunity(req);
    REQUIRE(r.ok());
    return r.response.opportunity();
}

std::vector<sv1::StageHistoryEntry> History(SalesClient& api, const std::string& id) {
    sv1::ListStageHistoryRequest req;
    req.set_opportunity_id(id);
    auto r = api.ListStageHistory(req);
    REQUIRE(r.ok());
    return {r.response.entries().begin(), r.response.entries().end()};
}

std::string OutboxCount(const std::string& tenant) {
    return QueryScalar("sales", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant + "'");
}

}  // namespace

TEST_CASE("sales stages: added, reordered and removed, open deals moved with history and events, closed ones kept",
          "[integration][sales][stages]") {
    const std::string tenant = UniqueTenant("sst");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));
    EventTap tap("crm.sales.v1");
    tap.Ignore("crm.sales.events.v1.ForecastSnapshotTaken");  // the scheduler may snapshot the tenant any time
    sv1::Pipeline p = MustCreateFlow(api, "Flow");
    const sv1::Stage a = p.stages(0), b = p.stages(1), c = p.stages(2), won = p.stages(3), lost = p.stages(4);

    const sv1::Opportunity in_a = MustCreateIn(api, p, a.id(), "In A");
    const sv1::Opportunity in_b = MustCreateIn(api, p, b.id(), "In B");
    const sv1::Opportunity deleted_in_b = MustCreateIn(api, p, b.id(), "Deleted in B");
    sv1::DeleteOpportunityRequest del;
    del.set_id(deleted_in_b.id());
    REQUIRE(api.DeleteOpportunity(del).ok());
    const sv1::Opportunity won_via_b = MustCreateIn(api, p, b.id(), "Won via B");
    sv1::WinOpportunityRequest win;
    win.set_id(won_via_b.id());
    REQUIRE(api.WinOpportunity(win).ok());
    sv1::GetForecastRequest forecast;
    forecast.mutable_period()->set_type(sv1::PERIOD_TYPE_MONTH);
    forecast.mutable_period()->set_start_date(TodayUtc());
    forecast.set_currency_code("EUR");
    forecast.set_pipeline_id(p.id());
    auto before = api.GetForecast(forecast);
    REQUIRE(before.ok());

    // 1. Add "Demo" (best case) after B.
    auto added = api.UpdatePipeline(
        StagesUpdate(p, {a, b, NewStage("Demo", 40, sv1::FORECAST_CATEGORY_BEST_CASE), c, won, lost}));
    INFO(added.status.error_message());
    REQUIRE(added.ok());
    p = added.response.pipeline();
    REQUIRE(p.stages_size() == 6);
    const sv1::Stage demo = p.stages(2);
    CHECK(demo.name() == "Demo");
    CHECK_FALSE(demo.id().empty());
    for (int i = 0; i < 6; ++i) CHECK(p.stages(i).position() == i);
    CHECK(p.stages(3).id() == c.id());
    CHECK(p.version() == 2);
    CHECK(p.archived_stages_size() == 0);

    // 2. Reorder: B before A. No deal changes its stage.
    auto reordered = api.UpdatePipeline(StagesUpdate(p, {p.stages(1), p.stages(0), demo, c, won, lost}));
    INFO(reordered.status.error_message());
    REQUIRE(reordered.ok());
    p = reordered.response.pipeline();
    CHECK(p.stages(0).id() == b.id());
    CHECK(p.stages(0).position() == 0);
    CHECK(p.stages(1).id() == a.id());
    CHECK(p.stages(1).position() == 1);
    CHECK(Get(api, in_a.id()).stage_id() == a.id());
    CHECK(Get(api, in_a.id()).version() == in_a.version());
    CHECK(Get(api, in_b.id()).stage_id() == b.id());
    CHECK(Get(api, in_b.id()).version() == in_b.version());

    // 3. Remove B: its open deal moves to Demo; the deleted and the won deal keep their stages.
    auto removed = api.UpdatePipeline(StagesUpdate(p, {p.stages(1), demo, c, won, lost}, {{b.id(), demo.id()}}));
    INFO(removed.status.error_message());
    REQUIRE(removed.ok());
    p = removed.response.pipeline();
    REQUIRE(p.stages_size() == 5);
    CHECK(p.stages(0).id() == a.id());
    CHECK(p.stages(1).id() == demo.id());
    REQUIRE(p.archived_stages_size() == 1);
    CHECK(p.archived_stages(0).id() == b.id());
    CHECK(p.archived_stages(0).name() == "B");
    CHECK(p.archived_stages(0).has_archive_time());
    CHECK(p.version() == 4);
    sv1::GetPipelineRequest get_pipeline;
    get_pipeline.set_id(p.id());
    auto got = api.GetPipeline(get_pipeline);
    REQUIRE(got.ok());
    CHECK(got.response.pipeline().SerializeAsString() == p.SerializeAsString());

    const sv1::Opportunity moved = Get(api, in_b.id());
    CHECK(moved.stage_id() == demo.id());
    CHECK(moved.stage_name() == "Demo");
    CHECK(moved.probability() == 40);
    CHECK(moved.forecast_category() == sv1::FORECAST_CATEGORY_BEST_CASE);
    CHECK(moved.version() == in_b.version() + 1);
    const auto moved_history = History(api, in_b.id());
    REQUIRE(moved_history.size() == 2);
    CHECK(moved_history[0].stage_id() == b.id());
    CHECK(moved_history[0].stage_name() == "B");
    CHECK(moved_history[0].has_exit_time());
    CHECK(moved_history[1].stage_id() == demo.id());
    CHECK(moved_history[1].stage_name() == "Demo");
    CHECK_FALSE(moved_history[1].has_exit_time());
    CHECK(moved_history[1].changed_by() == "test-user");
    CHECK(moved_history[0].exit_time().seconds() == moved_history[1].enter_time().seconds());

    const sv1::Opportunity still_deleted = Get(api, deleted_in_b.id());
    CHECK(still_deleted.stage_id() == b.id());
    CHECK(still_deleted.stage_name() == "B");                      // an archived stage still resolves
    CHECK(still_deleted.version() == deleted_in_b.version() + 1);  // only the delete
    const sv1::Opportunity closed = Get(api, won_via_b.id());
    CHECK(closed.stage_id() == won.id());
    CHECK(closed.status() == sv1::OPPORTUNITY_STATUS_WON);
    const auto closed_history = History(api, won_via_b.id());
    REQUIRE(closed_history.size() == 2);
    CHECK(closed_history[0].stage_id() == b.id());
    CHECK(closed_history[0].stage_name() == "B");
    CHECK(Get(api, in_a.id()).version() == in_a.version());

    // Deleted deals are still listed by their archived stage; the forecast is unchanged (the moved deal keeps its
    // amount and close date; only its probability changed from 30 to 40).
    sv1::ListOpportunitiesRequest by_stage;
    by_stage.set_stage_id(b.id());
    by_stage.set_show_deleted(true);
    auto listed = api.ListOpportunities(by_stage);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.opportunities_size() == 1);
    CHECK(listed.response.opportunities(0).id() == deleted_in_b.id());
    auto after = api.GetForecast(forecast);
    REQUIRE(after.ok());
    CHECK(after.response.totals().closed_won_amount() == before.response.totals().closed_won_amount());
    CHECK(after.response.totals().open_count() == before.response.totals().open_count());
    CHECK(after.response.totals().weighted_amount() == before.response.totals().weighted_amount() + 1000);

    // No deal enters an archived stage.
    sv1::MoveOpportunityStageRequest into_removed;
    into_removed.set_id(in_a.id());
    into_removed.set_stage_id(b.id());
    auto refused_move = api.MoveOpportunityStage(into_removed);
    CHECK(refused_move.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(refused_move.status, "stage_id"));
    sv1::CreateOpportunityRequest create_in_removed;
    create_in_removed.mutable_opportunity()->set_name("Too late");
    create_in_removed.mutable_opportunity()->set_pipeline_id(p.id());
    create_in_removed.mutable_opportunity()->set_stage_id(b.id());
    create_in_removed.mutable_opportunity()->mutable_amount()->set_amount_minor(1);
    create_in_removed.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    auto refused_create = api.CreateOpportunity(create_in_removed);
    CHECK(refused_create.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(refused_create.status, "opportunity.stage_id"));

    // Events of the set-up: 2 PipelineCreated (the default pipeline first), 4 OpportunityCreated, 1 deleted,
    // 1 stage change + 1 won. Then the updates: three PipelineUpdated (versions 2, 3, 4) and one
    // OpportunityStageChanged for the moved deal, nothing for the others.
    const auto events = tap.WaitFor(tenant, 13, std::chrono::seconds(30));
    CHECK(events.size() == 13);
    std::vector<crm::common::v1::EventEnvelope> pipeline_events, deal_events;
    for (const auto& e : events) {
        if (e.envelope.event_type() == "crm.sales.events.v1.PipelineUpdated") {
            pipeline_events.push_back(e.envelope);
        } else if (e.envelope.event_type() == "crm.sales.events.v1.OpportunityStageChanged" &&
                   e.envelope.aggregate_id() != won_via_b.id()) {
            deal_events.push_back(e.envelope);
        }
    }
    REQUIRE(pipeline_events.size() == 3);
    REQUIRE(deal_events.size() == 1);
    sev::PipelineUpdated add_event, reorder_event, remove_event;
    REQUIRE(pipeline_events[0].payload().UnpackTo(&add_event));
    REQUIRE(pipeline_events[1].payload().UnpackTo(&reorder_event));
    REQUIRE(pipeline_events[2].payload().UnpackTo(&remove_event));
    for (int i = 0; i < 3; ++i) {
        CHECK(pipeline_events[static_cast<size_t>(i)].event_type() == "crm.sales.events.v1.PipelineUpdated");
        CHECK(pipeline_events[static_cast<size_t>(i)].aggregate_id() == p.id());
        CHECK(pipeline_events[static_cast<size_t>(i)].aggregate_version() == i + 2);
    }
    REQUIRE(add_event.added_stages_size() == 1);
    CHECK(add_event.added_stages(0).id() == demo.id());
    CHECK(add_event.removed_stages_size() == 0);
    CHECK_FALSE(add_event.stages_reordered());
    CHECK(add_event.changed_paths_size() == 1);
    CHECK(add_event.changed_paths(0) == "stages");
    CHECK(reorder_event.stages_reordered());
    CHECK(reorder_event.added_stages_size() == 0);
    REQUIRE(remove_event.removed_stages_size() == 1);
    CHECK(remove_event.removed_stages(0).stage().id() == b.id());
    CHECK(remove_event.removed_stages(0).stage().has_archive_time());
    CHECK(remove_event.removed_stages(0).moved_to_stage_id() == demo.id());
    CHECK(remove_event.removed_stages(0).moved_opportunity_count() == 1);
    CHECK(remove_event.pipeline().archived_stages_size() == 1);
    CHECK(deal_events[0].event_type() == "crm.sales.events.v1.OpportunityStageChanged");
    CHECK(deal_events[0].aggregate_id() == in_b.id());
    CHECK(deal_events[0].aggregate_version() == in_b.version() + 1);
    sev::OpportunityStageChanged changed;
    REQUIRE(deal_events[0].payload().UnpackTo(&changed));
    CHECK(changed.from_stage_id() == b.id());
    CHECK(changed.from_stage_name() == "B");
    CHECK(changed.to_stage_id() == demo.id());
    CHECK(changed.to_probability() == 40);
    CHECK(changed.from_probability() == 30);
    CHECK(changed.changed_by() == "test-user");
}

TEST_CASE("sales stages: a removed stage with no open deals needs no target, and the open deals of several go",
          "[integration][sales][stages]") {
    const std::string tenant = UniqueTenant("sst");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));
    // A default pipeline: Qualification, Needs analysis, Proposal, Negotiation (commit), Closed won, Closed lost.
    sv1::Pipeline p = api.MustDefaultPipeline();
    const sv1::Opportunity q1 = MustCreateIn(api, p, p.stages(0).id(), "Q1");
    const sv1::Opportunity q2 = MustCreateIn(api, p, p.stages(0).id(), "Q2");
    // Remove Qualification (2 deals → Negotiation, which has dates) and Needs analysis (empty, no target), add one.
    auto r = api.UpdatePipeline(StagesUpdate(p,
                                             {NewStage("Discovery", 15, sv1::FORECAST_CATEGORY_PIPELINE), p.stages(2),
                                              p.stages(3), p.stages(4), p.stages(5)},
                                             {{p.stages(0).id(), p.stages(3).id()}, {p.stages(1).id(), ""}}));
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    const sv1::Pipeline updated = r.response.pipeline();
    CHECK(updated.stages(0).name() == "Discovery");
    CHECK(updated.archived_stages_size() == 2);
    for (const auto* deal : {&q1, &q2}) {
        const sv1::Opportunity now = Get(api, deal->id());
        CHECK(now.stage_id() == p.stages(3).id());
        CHECK(now.probability() == 80);
        CHECK(now.forecast_category() == sv1::FORECAST_CATEGORY_COMMIT);
    }
    CHECK(CountRows("stage_history", tenant) == 4);
    CHECK(CountRows("stages", tenant) == 7);  // 6 + Discovery; the removed two are archived, not deleted
}

TEST_CASE("sales stages: bad stage changes and stale etags are refused with every field named, nothing written",
          "[integration][sales][stages]") {
    const std::string tenant = UniqueTenant("sst");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));
    const sv1::Pipeline p = MustCreateFlow(api, "Flow");
    const sv1::Stage a = p.stages(0), b = p.stages(1), c = p.stages(2), won = p.stages(3), lost = p.stages(4);
    sv1::CreateOpportunityRequest no_date;
    no_date.mutable_opportunity()->set_name("No date");
    no_date.mutable_opportunity()->set_pipeline_id(p.id());
    no_date.mutable_opportunity()->set_stage_id(b.id());
    no_date.mutable_opportunity()->mutable_amount()->set_amount_minor(500);
    no_date.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    auto deal_r = api.CreateOpportunity(no_date);
    REQUIRE(deal_r.ok());
    const sv1::Opportunity deal = deal_r.response.opportunity();
    const std::string outbox_before = OutboxCount(tenant);
    const long long stages_before = CountRows("stages", tenant);
    const long long history_before = CountRows("stage_history", tenant);
    const sv1::Stage fresh = NewStage("Fresh", 20, sv1::FORECAST_CATEGORY_PIPELINE);

    auto refused = [&](const sv1::UpdatePipelineRequest& req, grpc::StatusCode code,
                       const std::vector<std::string>& fields) {
        auto r = api.UpdatePipeline(req);
        INFO(r.status.error_message());
        CHECK(r.status.error_code() == code);
        for (const auto& f : fields) {
            INFO(f);
            CHECK(HasViolation(r.status, f));
        }
        return r.status;
    };
    using grpc::StatusCode;

    SECTION("a stale etag") {
        auto req = StagesUpdate(p, {fresh, a, c, won, lost}, {{b.id(), a.id()}});
        req.set_etag("v99");
        refused(req, StatusCode::ABORTED, {});
    }
    SECTION("an unknown stage id and a stage listed twice") {
        sv1::Stage unknown = a;
        unknown.set_id("2b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
        sv1::Stage twice = b;
        twice.set_name("B again");  // names stay unique: only the id repeats
        refused(StagesUpdate(p, {unknown, b, twice, c, won, lost}), StatusCode::INVALID_ARGUMENT,
                {"pipeline.stages[0].id", "pipeline.stages[2].id"});
    }
    SECTION("too few and too many stages") {
        refused(StagesUpdate(p, {a, c, won, lost}, {{b.id(), a.id()}}), StatusCode::INVALID_ARGUMENT,
                {"pipeline.stages"});
        sv1::Stage x = fresh, y = fresh, z = fresh;
        x.set_name("X");
        y.set_name("Y");
        z.set_name("Z");
        refused(StagesUpdate(p, {x, y, z, a, b, c, won, lost}), StatusCode::INVALID_ARGUMENT, {"pipeline.stages"});
    }
    SECTION("a stage left out without being removed") {
        refused(StagesUpdate(p, {fresh, a, c, won, lost}), StatusCode::INVALID_ARGUMENT, {"pipeline.stages"});
    }
    SECTION("removing a stage with open deals without a target") {
        refused(StagesUpdate(p, {fresh, a, c, won, lost}, {{b.id(), ""}}), StatusCode::INVALID_ARGUMENT,
                {"removed_stages[0].move_open_opportunities_to_stage_id"});
    }
    SECTION("a target that is removed by the same update, or a closed stage") {
        sv1::Stage f2 = fresh;
        f2.set_name("Fresh 2");
        refused(StagesUpdate(p, {fresh, f2, c, won, lost}, {{b.id(), a.id()}, {a.id(), c.id()}}),
                StatusCode::INVALID_ARGUMENT, {"removed_stages[0].move_open_opportunities_to_stage_id"});
        refused(StagesUpdate(p, {fresh, a, c, won, lost}, {{b.id(), won.id()}}), StatusCode::INVALID_ARGUMENT,
                {"removed_stages[0].move_open_opportunities_to_stage_id"});
    }
    SECTION("removing a closed stage, an unknown one, a bad id, or removing without the stages path") {
        refused(StagesUpdate(p, {a, b, c, NewStage("Won again", 100, sv1::FORECAST_CATEGORY_CLOSED_WON), lost},
                             {{won.id(), ""}}),
                StatusCode::INVALID_ARGUMENT, {"removed_stages[0].stage_id"});
        refused(StagesUpdate(p, {a, b, c, won, lost}, {{"2b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", ""}}),
                StatusCode::INVALID_ARGUMENT, {"removed_stages[0].stage_id"});
        refused(StagesUpdate(p, {a, b, c, won, lost}, {{"not-a-uuid", "nor-this"}}), StatusCode::INVALID_ARGUMENT,
                {"removed_stages[0].stage_id", "removed_stages[0].move_open_opportunities_to_stage_id"});
        sv1::UpdatePipelineRequest name_only;
        name_only.mutable_pipeline()->set_id(p.id());
        name_only.mutable_pipeline()->set_name("Renamed");
        name_only.mutable_update_mask()->add_paths("name");
        name_only.add_removed_stages()->set_stage_id(b.id());
        refused(name_only, StatusCode::INVALID_ARGUMENT, {"removed_stages"});
    }
    SECTION("an open stage turned closed") {
        sv1::Stage closed_a = a;
        closed_a.set_forecast_category(sv1::FORECAST_CATEGORY_CLOSED_LOST);
        closed_a.set_probability(0);
        sv1::Stage open_lost = lost;
        open_lost.set_forecast_category(sv1::FORECAST_CATEGORY_PIPELINE);
        refused(StagesUpdate(p, {b, c, open_lost, won, closed_a}), StatusCode::INVALID_ARGUMENT,
                {"pipeline.stages[2].forecast_category", "pipeline.stages[4].forecast_category"});
    }
    SECTION("moving deals without a close date into a commit stage") {
        sv1::Stage commit = c;
        commit.set_forecast_category(sv1::FORECAST_CATEGORY_COMMIT);
        auto status = refused(StagesUpdate(p, {fresh, a, commit, won, lost}, {{b.id(), c.id()}}),
                              StatusCode::FAILED_PRECONDITION, {});
        CHECK(ErrorReason(status) == "CLOSE_DATE_REQUIRED");
    }

    // Nothing written by any of them.
    sv1::GetPipelineRequest get;
    get.set_id(p.id());
    auto now = api.GetPipeline(get);
    REQUIRE(now.ok());
    CHECK(now.response.pipeline().SerializeAsString() == p.SerializeAsString());
    CHECK(CountRows("stages", tenant) == stages_before);
    CHECK(CountRows("stage_history", tenant) == history_before);
    CHECK(OutboxCount(tenant) == outbox_before);
    CHECK(Get(api, deal.id()).SerializeAsString() == deal.SerializeAsString());
}

TEST_CASE("sales stages: another tenant's pipeline is NOT_FOUND and its stages are unknown",
          "[integration][sales][stages][tenancy]") {
    const std::string owner_tenant = UniqueTenant("sst");
    SalesClient owner(TokenFor(owner_tenant, {"sales_manager"}));
    const sv1::Pipeline theirs = MustCreateFlow(owner, "Theirs");
    MustCreateIn(owner, theirs, theirs.stages(1).id(), "Their deal");
    const std::string outbox_before = OutboxCount(owner_tenant);

    const std::string other_tenant = UniqueTenant("sst");
    SalesClient other(TokenFor(other_tenant, {"sales_manager"}));
    auto req = StagesUpdate(theirs,
                            {theirs.stages(0), NewStage("Mine", 20, sv1::FORECAST_CATEGORY_PIPELINE), theirs.stages(2),
                             theirs.stages(3), theirs.stages(4)},
                            {{theirs.stages(1).id(), theirs.stages(0).id()}});
    CHECK(other.UpdatePipeline(req).status.error_code() == grpc::StatusCode::NOT_FOUND);

    // Their stage ids in my pipeline's update are not stages of mine.
    const sv1::Pipeline mine = MustCreateFlow(other, "Mine");
    auto mixed = other.UpdatePipeline(
        StagesUpdate(mine, {theirs.stages(0), mine.stages(1), mine.stages(2), mine.stages(3), mine.stages(4)},
                     {{mine.stages(0).id(), theirs.stages(2).id()}, {theirs.stages(1).id(), mine.stages(1).id()}}));
    CHECK(mixed.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(mixed.status, "pipeline.stages[0].id"));
    CHECK(HasViolation(mixed.status, "removed_stages[0].move_open_opportunities_to_stage_id"));
    CHECK(HasViolation(mixed.status, "removed_stages[1].stage_id"));

    sv1::GetPipelineRequest get;
    get.set_id(theirs.id());
    auto still = owner.GetPipeline(get);
    REQUIRE(still.ok());
    CHECK(still.response.pipeline().SerializeAsString() == theirs.SerializeAsString());
    CHECK(OutboxCount(owner_tenant) == outbox_before);
}

TEST_CASE("sales stages: deals moved into a stage while it is removed all end in the target, none in the archive",
          "[integration][sales][stages][concurrency]") {
    const std::string tenant = UniqueTenant("sst");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));
    const sv1::Pipeline p = MustCreateFlow(api, "Race");
    const sv1::Stage a = p.stages(0), b = p.stages(1), c = p.stages(2), won = p.stages(3), lost = p.stages(4);
    std::vector<sv1::Opportunity> deals;
    for (int i = 0; i < 12; ++i) deals.push_back(MustCreateIn(api, p, a.id(), "Racer " + std::to_string(i)));
    MustCreateIn(api, p, b.id(), "Already in B");

    // Moves A -> B from several clients while B is removed (target C).
    std::vector<std::future<grpc::StatusCode>> moves;
    for (const auto& deal : deals) {
        moves.push_back(std::async(std::launch::async, [&tenant, id = deal.id(), to = b.id()] {
            SalesClient mover(TokenFor(tenant, {"sales_rep"}));
            sv1::MoveOpportunityStageRequest req;
            req.set_id(id);
            req.set_stage_id(to);
            return mover.MoveOpportunityStage(req).status.error_code();
        }));
    }
    auto removed = api.UpdatePipeline(
        StagesUpdate(p, {NewStage("A2", 15, sv1::FORECAST_CATEGORY_PIPELINE), a, c, won, lost}, {{b.id(), c.id()}}));
    INFO(removed.status.error_message());
    REQUIRE(removed.ok());
    int moved_before = 0, refused_after = 0;
    for (auto& m : moves) {
        const grpc::StatusCode code = m.get();
        if (code == grpc::StatusCode::OK) ++moved_before;
        if (code == grpc::StatusCode::INVALID_ARGUMENT) ++refused_after;  // the stage was removed first
    }
    CHECK(moved_before + refused_after == 12);
    // No open deal is left in the archived stage; every deal is in A (refused) or C (moved, then carried along).
    CHECK(QueryScalar("sales", "SELECT count(*) FROM opportunities WHERE tenant_id = '" + tenant +
                                   "' AND stage_id = '" + b.id() + "' AND status = 'OPEN'") == "0");
    CHECK(QueryScalar("sales", "SELECT count(*) FROM opportunities WHERE tenant_id = '" + tenant +
                                   "' AND stage_id = '" + c.id() + "'") == std::to_string(moved_before + 1));
    CHECK(QueryScalar("sales", "SELECT count(*) FROM opportunities WHERE tenant_id = '" + tenant +
                                   "' AND stage_id = '" + a.id() + "'") == std::to_string(refused_after));
    // Each history has exactly one open visit, in the deal's current stage.
    CHECK(QueryScalar("sales",
                      "SELECT count(*) FROM opportunities o WHERE o.tenant_id = '" + tenant +
                          "' AND (SELECT count(*) FROM stage_history h WHERE h.tenant_id = o.tenant_id AND "
                          "h.opportunity_id = o.id AND h.exit_time IS NULL AND h.stage_id = o.stage_id) <> 1") == "0");
}
