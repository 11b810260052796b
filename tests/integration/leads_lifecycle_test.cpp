// Lead lifecycle, scoring (rules with decaying engagement, a trained model), assignment (round-robin, territory,
// capacity) and the first-touch SLA, through the gateway against the real service, database and Kafka.
#include <crm/leads/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <thread>

#include "../support/events.hpp"
#include "../support/leads_client.hpp"

using namespace crm::test;
namespace lev1 = crm::leads::events::v1;

namespace {
std::string Email(const std::string& local) {
    return local + "-" + crm::common::NewUuid().substr(0, 8) + "@example.com";
}

lv1::ScoringRule AttributeRule(const std::string& name, const std::string& field, lv1::ConditionOperator op,
                               std::vector<std::string> values, int weight) {
    lv1::ScoringRule r;
    r.set_name(name);
    r.mutable_attribute()->set_field(field);
    r.mutable_attribute()->set_operator_(op);
    for (auto& v : values) r.mutable_attribute()->add_values(v);
    r.set_weight(weight);
    return r;
}

lv1::ScoringRule EngagementRule(const std::string& name, const std::string& type, int weight) {
    lv1::ScoringRule r;
    r.set_name(name);
    r.mutable_engagement()->set_type(type);
    r.set_weight(weight);
    return r;
}

lv1::RecordEngagementResponse Engage(LeadsClient& api, const std::string& lead_id, const std::string& type,
                                     lv1::EngagementDirection direction, std::int64_t seconds_ago = 0) {
    lv1::RecordEngagementRequest req;
    req.set_lead_id(lead_id);
    req.mutable_engagement()->set_type(type);
    req.mutable_engagement()->set_direction(direction);
    if (seconds_ago > 0) {
        req.mutable_engagement()->mutable_occur_time()->set_seconds(std::time(nullptr) - seconds_ago);
    }
    auto r = api.RecordEngagement(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response;
}
}  // namespace

TEST_CASE("leads: transitions are checked, updates use masks and etags, converted leads are read-only",
          "[integration][leads]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    EventTap tap("crm.leads.v1");
    const lv1::Lead lead = api.MustCreate("Alan", Email("alan"));

    lv1::ChangeLeadStatusRequest bad;
    bad.set_id(lead.id());
    bad.set_status(lv1::LEAD_STATUS_NEW);
    auto r = api.ChangeLeadStatus(bad);
    CHECK(r.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(r.status) == "INVALID_TRANSITION");

    const lv1::Lead working = api.MustMove(lead.id(), {lv1::LEAD_STATUS_WORKING});
    CHECK(working.has_first_touch_time());
    api.MustMove(lead.id(), {lv1::LEAD_STATUS_UNQUALIFIED});
    bad.set_status(lv1::LEAD_STATUS_QUALIFIED);  // UNQUALIFIED → QUALIFIED is not allowed
    CHECK(api.ChangeLeadStatus(bad).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    const lv1::Lead back = api.MustMove(lead.id(), {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_NURTURING});
    CHECK(back.first_touch_time().seconds() == working.first_touch_time().seconds());  // the first touch stays

    lv1::UpdateLeadRequest update;
    update.mutable_lead()->set_id(lead.id());
    update.mutable_lead()->set_company_name("Bletchley");
    update.mutable_lead()->set_job_title("ignored: not in the mask");
    update.mutable_lead()->set_priority(lv1::LEAD_PRIORITY_URGENT);
    update.mutable_update_mask()->add_paths("company_name");
    update.mutable_update_mask()->add_paths("priority");
    update.set_etag(lead.etag());  // stale
    auto stale = api.UpdateLead(update);
    CHECK(stale.status.error_code() == grpc::StatusCode::ABORTED);
    update.set_etag(back.etag());
    auto updated = api.UpdateLead(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.lead().company_name() == "Bletchley");
    CHECK(updated.response.lead().job_title().empty());
    CHECK(updated.response.lead().priority() == lv1::LEAD_PRIORITY_URGENT);
    CHECK(updated.response.lead().version() == back.version() + 1);

    // Events: created, 4 status changes, updated — one each, versions 1..6 in order.
    auto events = tap.WaitFor(tenant, 6, std::chrono::seconds(30));
    REQUIRE(events.size() == 6);
    for (size_t i = 0; i < events.size(); ++i) CHECK(events[i].envelope.aggregate_version() == (long)i + 1);
    CHECK(events[5].envelope.event_type() == "crm.leads.events.v1.LeadUpdated");
    lev1::LeadUpdated e;
    REQUIRE(events[5].envelope.payload().UnpackTo(&e));
    CHECK(std::vector<std::string>(e.changed_paths().begin(), e.changed_paths().end()) ==
          std::vector<std::string>{"company_name", "priority"});
}

TEST_CASE("leads: rule scores with reasons follow changes and engagements, and decay with the half-life",
          "[integration][leads][scoring]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    lv1::UpdateScoringRulesRequest rules;
    auto* set = rules.mutable_scoring_rules();
    set->set_engagement_half_life_days(1);
    *set->add_rules() =
        AttributeRule("software industry", "attributes.industry", lv1::CONDITION_OPERATOR_EQUALS, {"software"}, 20);
    *set->add_rules() =
        AttributeRule("from a referral", "source", lv1::CONDITION_OPERATOR_ONE_OF, {"referral", "partner"}, 15);
    *set->add_rules() = EngagementRule("whitepaper download", "whitepaper_download", 30);
    auto stored = api.UpdateScoringRules(rules);
    INFO(stored.status.error_message());
    REQUIRE(stored.ok());
    CHECK(api.GetScoringRules(lv1::GetScoringRulesRequest{}).response.scoring_rules().rules_size() == 3);

    EventTap tap("crm.leads.v1");
    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_email(Email("scored"));
    (*create.mutable_lead()->mutable_attributes())["industry"] = "Software";
    auto created = api.CreateLead(create);
    REQUIRE(created.ok());
    const lv1::Lead& lead = created.response.lead();
    CHECK(lead.score() == 20);
    REQUIRE(lead.score_reasons_size() == 1);
    CHECK(lead.score_reasons(0).rule() == "software industry");

    lv1::UpdateLeadRequest update;
    update.mutable_lead()->set_id(lead.id());
    update.mutable_lead()->set_source("Referral");
    update.mutable_update_mask()->add_paths("source");
    auto updated = api.UpdateLead(update);
    REQUIRE(updated.ok());
    CHECK(updated.response.lead().score() == 35);

    // A download now (30) and one a half-life ago (15).
    Engage(api, lead.id(), "whitepaper_download", lv1::ENGAGEMENT_DIRECTION_INBOUND);
    auto engaged = Engage(api, lead.id(), "whitepaper_download", lv1::ENGAGEMENT_DIRECTION_INBOUND, 86400);
    CHECK(engaged.lead().score() == 80);  // 20 + 15 + 30 + 15
    REQUIRE(engaged.lead().score_reasons_size() == 3);
    CHECK(engaged.lead().score_reasons(0).rule() == "whitepaper download x2");
    CHECK(engaged.lead().score_reasons(0).points() == Approx(45).margin(0.05));
    CHECK_FALSE(engaged.lead().has_first_touch_time());  // inbound engagement is not a touch

    // Created (score 20), updated + scored, engagement + scored, engagement + scored: 7 events, one per change.
    auto events = tap.WaitFor(tenant, 7, std::chrono::seconds(30));
    REQUIRE(events.size() == 7);
    CHECK(events[1].envelope.event_type() == "crm.leads.events.v1.LeadUpdated");
    CHECK(events[2].envelope.event_type() == "crm.leads.events.v1.LeadScored");
    lev1::LeadScored scored;
    REQUIRE(events[6].envelope.payload().UnpackTo(&scored));
    CHECK(scored.previous_score() == 65);
    CHECK(scored.score() == 80);
    CHECK(scored.reasons_size() == 3);
    CHECK(events[6].envelope.aggregate_version() == 7);

    // An outbound call is the first touch.
    auto touched = Engage(api, lead.id(), "call", lv1::ENGAGEMENT_DIRECTION_OUTBOUND);
    CHECK(touched.lead().has_first_touch_time());
}

TEST_CASE("leads: the predictive model needs enough data, then ranks converting leads higher",
          "[integration][leads][scoring]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    lv1::TrainScoringModelRequest train;
    train.set_min_examples_per_class(8);
    auto empty = api.TrainScoringModel(train);
    CHECK(empty.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(empty.status) == "NOT_ENOUGH_TRAINING_DATA");

    // Converted leads (positives) came by referral and downloaded whitepapers; unqualified ones came cold.
    for (int i = 0; i < 10; ++i) {
        const auto hot = api.MustCreate("Hot" + std::to_string(i), Email("hot"), i % 5 == 0 ? "web" : "referral");
        for (int d = 0; d < 1 + i % 3; ++d) {
            Engage(api, hot.id(), "whitepaper_download", lv1::ENGAGEMENT_DIRECTION_INBOUND);
        }
        api.MustMove(hot.id(), {lv1::LEAD_STATUS_QUALIFIED});
        lv1::ConvertLeadRequest convert;
        convert.set_id(hot.id());
        auto c = api.ConvertLead(convert);
        INFO(c.status.error_message());
        REQUIRE(c.ok());
        const auto cold =
            api.MustCreate("Cold" + std::to_string(i), Email("cold"), i % 5 == 0 ? "referral" : "cold_call");
        if (i % 4 == 0) Engage(api, cold.id(), "whitepaper_download", lv1::ENGAGEMENT_DIRECTION_INBOUND);
        api.MustMove(cold.id(), {lv1::LEAD_STATUS_UNQUALIFIED});
        if (i == 5) {  // below the minimum per class
            auto few = api.TrainScoringModel(train);
            CHECK(few.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
        }
    }
    EventTap tap("crm.leads.v1");
    auto trained = api.TrainScoringModel(train);
    INFO(trained.status.error_message());
    REQUIRE(trained.ok());
    const auto& model = trained.response.model();
    CHECK(model.version() == 1);
    CHECK(model.positive_examples() == 10);
    CHECK(model.negative_examples() == 10);
    CHECK(model.training_auc() > 0.8);
    auto again = api.TrainScoringModel(train);
    REQUIRE(again.ok());
    CHECK(again.response.model().version() == 2);
    CHECK(again.response.model().intercept() == model.intercept());  // deterministic

    const auto hot = api.MustCreate("NewHot", Email("newhot"), "referral");
    Engage(api, hot.id(), "whitepaper_download", lv1::ENGAGEMENT_DIRECTION_INBOUND);
    Engage(api, hot.id(), "whitepaper_download", lv1::ENGAGEMENT_DIRECTION_INBOUND);
    const auto cold = api.MustCreate("NewCold", Email("newcold"), "cold_call");
    lv1::PredictLeadConversionRequest p;
    p.set_lead_id(hot.id());
    p.set_top_factors(3);
    auto ph = api.PredictLeadConversion(p);
    REQUIRE(ph.ok());
    p.set_lead_id(cold.id());
    auto pc = api.PredictLeadConversion(p);
    REQUIRE(pc.ok());
    CHECK(ph.response.probability() > pc.response.probability());
    CHECK(ph.response.probability() > 0.5);
    CHECK(pc.response.probability() < 0.5);
    REQUIRE(ph.response.factors_size() == 3);
    CHECK(ph.response.model_version() == 2);

    int trainings = 0;
    for (const auto& e : tap.WaitFor(tenant, 5, std::chrono::seconds(30))) {
        if (e.envelope.event_type() != "crm.leads.events.v1.ScoringModelTrained") continue;
        ++trainings;
        CHECK(e.envelope.aggregate_type() == "scoring_model");
        CHECK(e.envelope.aggregate_version() == trainings);
    }
    CHECK(trainings == 2);
}

namespace {
void ConfigureTeams(LeadsClient& api, int members, int capacity_of_last = 0) {
    lv1::UpdateAssignmentConfigRequest req;
    auto* c = req.mutable_assignment_config();
    auto* inside = c->add_teams();
    inside->set_id("inside-sales");
    for (int i = 0; i < members; ++i) {
        auto* m = inside->add_members();
        m->set_user_id("rep-" + std::to_string(i));
        if (i == members - 1) m->set_max_open_leads(capacity_of_last);
    }
    auto* dach = c->add_teams();
    dach->set_id("dach");
    dach->add_members()->set_user_id("rep-dach-1");
    dach->add_members()->set_user_id("rep-dach-2");
    auto* rule = c->add_rules();
    rule->set_country("DE");
    rule->set_team_id("dach");
    auto* partner = c->add_rules();
    partner->set_source("partner");
    partner->set_team_id("dach");
    c->set_default_team_id("inside-sales");
    auto* sla = c->add_sla_policies();
    sla->set_priority(lv1::LEAD_PRIORITY_HIGH);
    sla->set_first_touch_minutes(30);
    auto* sla2 = c->add_sla_policies();
    sla2->set_priority(lv1::LEAD_PRIORITY_MEDIUM);
    sla2->set_first_touch_minutes(240);
    auto r = api.UpdateAssignmentConfig(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
}

void CheckFair(const std::map<std::string, int>& counts, size_t members) {
    CHECK(counts.size() == members);
    int lo = 1 << 30, hi = 0;
    for (const auto& [owner, n] : counts) {
        lo = std::min(lo, n);
        hi = std::max(hi, n);
    }
    INFO("fewest " << lo << ", most " << hi);
    CHECK(hi - lo <= 1);
}
}  // namespace

TEST_CASE("leads: round-robin is fair, also under concurrent creates, and territory rules and capacity apply",
          "[integration][leads][assignment]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    ConfigureTeams(api, 3);

    std::map<std::string, int> sequential;
    for (int i = 0; i < 10; ++i) {
        const auto l = api.MustCreate("Seq" + std::to_string(i), Email("seq"));
        CHECK(l.team_id() == "inside-sales");
        ++sequential[l.owner_id()];
    }
    CheckFair(sequential, 3);

    // 8 writers create 40 leads at once: the per-team cursor row lock keeps the rotation exact.
    std::map<std::string, int> concurrent;
    std::mutex mutex;
    std::vector<std::thread> writers;
    std::atomic<int> failures{0};
    for (int w = 0; w < 8; ++w) {
        writers.emplace_back([&, w] {
            LeadsClient client(TokenFor(tenant));
            for (int i = 0; i < 5; ++i) {
                lv1::CreateLeadRequest req;
                req.mutable_lead()->set_given_name("W" + std::to_string(w) + "-" + std::to_string(i));
                auto r = client.CreateLead(req);
                if (!r.ok()) {
                    ++failures;
                    continue;
                }
                std::lock_guard lock(mutex);
                ++concurrent[r.response.lead().owner_id()];
            }
        });
    }
    for (auto& t : writers) t.join();
    CHECK(failures == 0);
    CheckFair(concurrent, 3);

    // Territory and source rules pick the DACH team; its two reps alternate.
    lv1::CreateLeadRequest de;
    de.mutable_lead()->set_given_name("Berlin");
    de.mutable_lead()->set_country("de");
    auto d1 = api.CreateLead(de);
    REQUIRE(d1.ok());
    CHECK(d1.response.lead().team_id() == "dach");
    lv1::CreateLeadRequest partner;
    partner.mutable_lead()->set_given_name("Partner");
    partner.mutable_lead()->set_source("Partner");
    auto d2 = api.CreateLead(partner);
    REQUIRE(d2.ok());
    CHECK(d2.response.lead().team_id() == "dach");
    CHECK(d1.response.lead().owner_id() != d2.response.lead().owner_id());

    // Priority sets the first-touch deadline: HIGH = 30 minutes after creation.
    const auto high = api.MustCreate("Urgent", Email("high"), "", lv1::LEAD_PRIORITY_HIGH);
    CHECK(high.first_touch_deadline().seconds() - high.create_time().seconds() == 30 * 60);
    const auto low = api.MustCreate("Low", Email("low"), "", lv1::LEAD_PRIORITY_LOW);
    CHECK_FALSE(low.has_first_touch_deadline());  // no SLA for LOW
}

TEST_CASE("leads: capacity limits skip full reps and AssignLead says when a team is full",
          "[integration][leads][assignment]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    ConfigureTeams(api, 2, 1);  // rep-1 takes at most one open lead
    std::map<std::string, int> counts;
    for (int i = 0; i < 5; ++i) ++counts[api.MustCreate("Cap" + std::to_string(i), Email("cap")).owner_id()];
    CHECK(counts["rep-1"] == 1);
    CHECK(counts["rep-0"] == 4);

    // Manual assignment, then back to the rules.
    const auto lead = api.MustCreate("Manual", Email("manual"));
    EventTap tap("crm.leads.v1");
    lv1::AssignLeadRequest assign;
    assign.set_id(lead.id());
    assign.set_owner_id("closer-7");
    auto manual = api.AssignLead(assign);
    REQUIRE(manual.ok());
    CHECK(manual.response.lead().owner_id() == "closer-7");
    CHECK(manual.response.lead().team_id().empty());
    // Events of the creates above may still be on their way; exactly one LeadAssigned follows the manual assignment.
    std::vector<crm::common::v1::EventEnvelope> assignments;
    for (const auto& e : tap.WaitFor(tenant, 1, std::chrono::seconds(30), std::chrono::seconds(5))) {
        if (e.envelope.event_type() == "crm.leads.events.v1.LeadAssigned") assignments.push_back(e.envelope);
    }
    REQUIRE(assignments.size() == 1);
    CHECK(assignments[0].aggregate_id() == lead.id());
    lev1::LeadAssigned assigned;
    REQUIRE(assignments[0].payload().UnpackTo(&assigned));
    CHECK(assigned.previous_owner_id() == lead.owner_id());
    CHECK(assigned.owner_id() == "closer-7");
    CHECK(assigned.method() == lev1::ASSIGNMENT_METHOD_MANUAL);

    // With rep-1 full and rep-0 limited to what it has, the team is at capacity.
    ConfigureTeams(api, 1, 1);  // a single rep (rep-0) with room for one open lead: already has 5
    assign.set_owner_id("");
    auto full = api.AssignLead(assign);
    CHECK(full.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(full.status) == "TEAM_AT_CAPACITY");
}

TEST_CASE("leads: a passed first-touch deadline emits LeadSlaBreached once, touched leads never",
          "[integration][leads][sla]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    ConfigureTeams(api, 2);
    EventTap tap("crm.leads.v1");
    const auto late = api.MustCreate("Late", Email("late"), "", lv1::LEAD_PRIORITY_HIGH);
    const auto quick = api.MustCreate("Quick", Email("quick"), "", lv1::LEAD_PRIORITY_HIGH);
    api.MustMove(quick.id(), {lv1::LEAD_STATUS_WORKING});  // touched in time
    // Let 30 minutes pass for both: move their deadlines into the past (as the database superuser).
    QueryScalar("leads", "UPDATE leads SET first_touch_deadline = now() - interval '1 second' WHERE tenant_id = '" +
                             tenant + "'");

    // created ×2, status change, then exactly one breach (the scheduler scans every 500 ms in the stack).
    auto events = tap.WaitFor(tenant, 4, std::chrono::seconds(30), std::chrono::seconds(3));
    REQUIRE(events.size() == 4);
    std::vector<crm::common::v1::EventEnvelope> breaches;
    for (const auto& e : events) {
        if (e.envelope.event_type() == "crm.leads.events.v1.LeadSlaBreached") breaches.push_back(e.envelope);
    }
    REQUIRE(breaches.size() == 1);
    const auto& breach = breaches[0];
    CHECK(breach.event_type() == "crm.leads.events.v1.LeadSlaBreached");
    CHECK(breach.aggregate_id() == late.id());
    lev1::LeadSlaBreached e;
    REQUIRE(breach.payload().UnpackTo(&e));
    CHECK(e.owner_id() == late.owner_id());
    CHECK(e.priority() == lv1::LEAD_PRIORITY_HIGH);
    CHECK(e.lead().has_sla_breach_time());
    CHECK(e.detect_time().seconds() >= e.first_touch_deadline().seconds());

    lv1::GetLeadRequest get;
    get.set_id(late.id());
    auto after = api.GetLead(get);
    REQUIRE(after.ok());
    CHECK(after.response.lead().has_sla_breach_time());
    CHECK(after.response.lead().version() == 2);
    get.set_id(quick.id());
    CHECK_FALSE(api.GetLead(get).response.lead().has_sla_breach_time());
}
