// Work orders from support cases, end to end through the gateway and Kafka: the visit categories (set, list, bad
// input naming every field, roles, tenants); a case created in a visit category gets one work order (links, title,
// work type from the category, no site: not bookable until a dispatcher sets one), a case in another category none;
// replayed and escalation events give no second work order, an escalation of a case in a newly marked category gives
// its first; CreateWorkOrder from a case id copies the case's contact (never another tenant's); and case created →
// work order → dispatched → completed → an internal note on the case, which stays open.
#include <crm/fieldservice/events/v1/events.pb.h>
#include <crm/support/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/explain.hpp"
#include "../support/fieldservice_client.hpp"
#include "../support/support_client.hpp"
#include "cases/sql.hpp"
#include "crm/common/crypto.hpp"
#include "workorders/sql.hpp"

using namespace crm::test;

namespace {

namespace sev = crm::support::events::v1;

fv1::VisitCategory Category(const std::string& name, const std::string& work_type, int minutes) {
    fv1::VisitCategory c;
    c.set_category(name);
    c.set_work_type(work_type);
    c.set_duration_minutes(minutes);
    return c;
}

fv1::SetVisitCategoriesResponse MustSetCategories(FieldServiceClient& api, const std::vector<fv1::VisitCategory>& cs) {
    fv1::SetVisitCategoriesRequest req;
    for (const auto& c : cs) *req.add_categories() = c;
    auto r = api.SetVisitCategories(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response;
}

// The tenant's work orders of a case (every page).
std::vector<fv1::WorkOrder> WorkOrdersOfCase(FieldServiceClient& api, const std::string& case_id) {
    std::vector<fv1::WorkOrder> out;
    fv1::ListWorkOrdersRequest req;
    req.set_page_size(500);
    auto r = api.ListWorkOrders(req);
    REQUIRE(r.ok());
    for (const auto& w : r.response.work_orders()) {
        if (w.case_id() == case_id) out.push_back(w);
    }
    return out;
}

// Waits (generously: the consumer may lag under load) until the case has `count` work orders; returns them.
std::vector<fv1::WorkOrder> AwaitWorkOrders(FieldServiceClient& api, const std::string& case_id, std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::vector<fv1::WorkOrder> found = WorkOrdersOfCase(api, case_id);
    while (found.size() < count && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        found = WorkOrdersOfCase(api, case_id);
    }
    return found;
}

spv1::Case MustCase(SupportClient& support, const std::string& subject, const std::string& category,
                    const std::string& contact_id = "", spv1::CasePriority priority = spv1::CASE_PRIORITY_NORMAL) {
    spv1::CreateCaseRequest req;
    req.mutable_case_()->set_subject(subject);
    req.mutable_case_()->set_description("The boiler in the basement leaks.\nSince Monday.");
    req.mutable_case_()->set_category(category);
    req.mutable_case_()->set_contact_id(contact_id);
    req.mutable_case_()->set_priority(priority);
    auto r = support.CreateCase(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.case_();
}

// A support event as support's outbox relays it, on partition 0 (so that events produced together apply in order).
OutgoingEvent SupportEvent(const std::string& tenant, const spv1::Case& c, const google::protobuf::Message& payload,
                           const std::string& event_id = crm::common::NewUuid()) {
    crm::common::v1::EventEnvelope env;
    env.set_event_id(event_id);
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("support");
    env.set_tenant_id(tenant);
    env.set_aggregate_type("case");
    env.set_aggregate_id(c.id());
    env.set_aggregate_version(c.version());
    *env.mutable_occurred_at() = Ts(NowSeconds());
    env.mutable_payload()->PackFrom(payload);
    OutgoingEvent out{"crm.support.v1", c.id(), env.SerializeAsString(), env.event_id(), tenant};
    out.partition = 0;
    return out;
}

}  // namespace

TEST_CASE("fieldservice: visit categories, set and list, bad input, roles, tenants",
          "[integration][fieldservice][cases]") {
    const std::string tenant = UniqueTenant("fsv");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    EventTap tap("crm.fieldservice.v1");
    tap.Keep([](const crm::common::v1::EventEnvelope& e) { return e.aggregate_type() == "visit_categories"; });

    auto empty = api.ListVisitCategories({});
    REQUIRE(empty.ok());
    CHECK(empty.response.version() == 0);
    CHECK(empty.response.categories_size() == 0);

    auto heating = Category("Heating", "repair", 90);
    auto* skill = heating.add_required_skills();
    skill->set_skill("hvac");
    skill->set_min_level(2);
    heating.add_checklist("check pressure");
    const auto set = MustSetCategories(api, {heating, Category("Water damage", "inspection", 45)});
    CHECK(set.version() == 1);
    CHECK(set.etag() == "v1");
    REQUIRE(set.categories_size() == 2);
    CHECK(set.categories(0).required_skills(0).skill() == "hvac");
    CHECK(set.categories(1).duration_minutes() == 45);
    // The same list again: no new version, no event.
    CHECK(MustSetCategories(api, {heating, Category("Water damage", "inspection", 45)}).version() == 1);
    auto listed = api.ListVisitCategories({});
    REQUIRE(listed.ok());
    CHECK(listed.response.version() == 1);
    CHECK(listed.response.categories(0).checklist(0) == "check pressure");

    // A stale etag: ABORTED, nothing changed.
    fv1::SetVisitCategoriesRequest stale;
    *stale.add_categories() = Category("Heating", "repair", 60);
    stale.set_etag("v0");
    CHECK(api.SetVisitCategories(stale).status.error_code() == grpc::StatusCode::ABORTED);

    // Every bad field named at once; nothing written.
    fv1::SetVisitCategoriesRequest bad;
    *bad.add_categories() = Category(std::string("Heat\0ing", 8), "repair", 60);
    *bad.add_categories() = Category("Gas", " repair", 0);
    *bad.add_categories() = Category("Gas", "repair", 1441);
    bad.mutable_categories(1)->add_checklist("ring \x07 the bell");
    auto* level = bad.mutable_categories(2)->add_required_skills();
    level->set_skill("gas");
    level->set_min_level(9);
    *bad.add_categories() = Category(std::string(201, 'x'), "", 30);
    bad.set_etag("seven");
    const auto refused = api.SetVisitCategories(bad);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field :
         {"categories[0].category", "categories[1].work_type", "categories[1].duration_minutes",
          "categories[1].checklist[0]", "categories[2].duration_minutes", "categories[2].required_skills[0].min_level",
          "categories[2].category", "categories[3].category", "categories[3].work_type", "etag"}) {
        INFO(field);
        CHECK(HasViolation(refused.status, field));
    }
    // Invalid UTF-8 never reaches the service (the transport refuses to parse a proto3 string that is not UTF-8).
    fv1::SetVisitCategoriesRequest broken;
    *broken.add_categories() = Category("Heat\xff\xfe", "repair", 60);
    CHECK_FALSE(api.SetVisitCategories(broken).ok());
    fv1::SetVisitCategoriesRequest huge;
    for (int i = 0; i < 101; ++i) *huge.add_categories() = Category("c" + std::to_string(i), "repair", 30);
    CHECK(HasViolation(api.SetVisitCategories(huge).status, "categories"));
    CHECK(api.ListVisitCategories({}).response.version() == 1);

    // Roles: technicians, support agents and analysts neither set nor list; support managers and admins do.
    for (const char* role : {"technician", "support_agent", "analyst"}) {
        FieldServiceClient other(TokenFor(tenant, {role}));
        INFO(role);
        CHECK(other.ListVisitCategories({}).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        CHECK(other.SetVisitCategories(stale).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    }
    CHECK(FieldServiceClient(TokenFor(tenant, {"support_manager"})).ListVisitCategories({}).ok());
    CHECK(FieldServiceClient(TokenFor(tenant, {"admin"})).ListVisitCategories({}).response.version() == 1);

    // Another tenant sees none of it.
    FieldServiceClient elsewhere(TokenFor(UniqueTenant("fsv"), {"dispatcher"}));
    CHECK(elsewhere.ListVisitCategories({}).response.version() == 0);

    const auto events = tap.WaitFor(tenant, 1, std::chrono::seconds(30), std::chrono::seconds(2));
    REQUIRE(events.size() == 1);
    crm::fieldservice::events::v1::VisitCategoriesSet payload;
    REQUIRE(events[0].envelope.payload().UnpackTo(&payload));
    CHECK(payload.version() == 1);
    CHECK(payload.categories_size() == 2);
    CHECK(events[0].envelope.aggregate_version() == 1);
}

TEST_CASE("fieldservice: a case in a visit category gets one work order, whatever the events and their replays",
          "[integration][fieldservice][cases]") {
    const std::string tenant = UniqueTenant("fsc");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    SupportClient support(TokenFor(tenant, {"support_agent"}));
    ContactsClient contacts(TokenFor(tenant));
    auto heating = Category("Heating", "repair", 90);
    auto* skill = heating.add_required_skills();
    skill->set_skill("hvac");
    skill->set_min_level(2);
    heating.add_checklist("check pressure");
    MustSetCategories(api, {heating});
    const auto person = contacts.MustCreate("Hanna", "Becker", "hanna.becker@example.com");

    EventTap support_tap("crm.support.v1");
    const auto leaking = MustCase(support, "Boiler leaks", "Heating", person.id(), spv1::CASE_PRIORITY_HIGH);
    const auto billing = MustCase(support, "Invoice wrong", "Billing", person.id());
    const auto plumbing = MustCase(support, "Pipe burst", "Plumbing");

    const auto made = AwaitWorkOrders(api, leaking.id(), 1);
    REQUIRE(made.size() == 1);
    const fv1::WorkOrder& wo = made[0];
    CHECK(wo.status() == fv1::WORK_ORDER_STATUS_NEW);
    CHECK(wo.title() == "CS-" + std::to_string(leaking.number()) + ": Boiler leaks");
    CHECK(wo.description() == "The boiler in the basement leaks.\nSince Monday.");
    CHECK(wo.contact_id() == person.id());
    CHECK(wo.work_type() == "repair");
    CHECK(wo.duration_minutes() == 90);
    REQUIRE(wo.required_skills_size() == 1);
    CHECK(wo.required_skills(0).min_level() == 2);
    CHECK(wo.checklist(0) == "check pressure");
    CHECK(wo.priority() == fv1::PRIORITY_HIGH);
    CHECK_FALSE(wo.has_site());

    // No site yet: nothing to search from or book.
    fv1::FindCandidatesRequest fc;
    fc.set_work_order_id(wo.id());
    CHECK(ErrorReason(api.FindCandidates(fc).status) == "SITE_REQUIRED");
    fv1::DispatchWorkOrderRequest dispatch;
    dispatch.set_work_order_id(wo.id());
    CHECK(ErrorReason(api.DispatchWorkOrder(dispatch).status) == "SITE_REQUIRED");

    // Replays: support's own CaseCreated again (same event id), and an escalation of the same case; then the first
    // escalation of the plumbing case, whose category is marked only now. All on one partition, so once the plumbing
    // case has its work order, the others were applied before.
    support_tap.Keep([&](const crm::common::v1::EventEnvelope& e) {
        return e.aggregate_id() == leaking.id() && e.event_type() == "crm.support.events.v1.CaseCreated";
    });
    const auto created_events = support_tap.WaitFor(tenant, 1, std::chrono::seconds(30), std::chrono::seconds(0));
    REQUIRE(created_events.size() == 1);
    MustSetCategories(api, {heating, Category("Plumbing", "repair", 60)});
    sev::CaseEscalated escalated;
    *escalated.mutable_case_() = leaking;
    escalated.mutable_case_()->set_version(leaking.version() + 1);
    sev::CaseEscalated plumbing_escalated;
    *plumbing_escalated.mutable_case_() = plumbing;
    plumbing_escalated.mutable_case_()->set_version(plumbing.version() + 1);
    OutgoingEvent replay{"crm.support.v1", leaking.id(), created_events[0].envelope.SerializeAsString(),
                         created_events[0].envelope.event_id(), tenant};
    replay.partition = 0;
    const OutgoingEvent escalation = SupportEvent(tenant, escalated.case_(), escalated);
    ProduceEvents(
        {replay, escalation, escalation, SupportEvent(tenant, plumbing_escalated.case_(), plumbing_escalated)});
    const auto plumbing_orders = AwaitWorkOrders(api, plumbing.id(), 1);
    REQUIRE(plumbing_orders.size() == 1);
    CHECK(plumbing_orders[0].duration_minutes() == 60);
    CHECK(plumbing_orders[0].contact_id().empty());
    std::this_thread::sleep_for(std::chrono::seconds(1));
    CHECK(WorkOrdersOfCase(api, leaking.id()).size() == 1);
    CHECK(WorkOrdersOfCase(api, billing.id()).empty());
    CHECK(FsRows("work_orders", tenant) == 2);
    CHECK(QueryScalar("fieldservice", "SELECT count(*) FROM support_cases WHERE tenant_id = '" + tenant + "'") == "3");
}

TEST_CASE("fieldservice: CreateWorkOrder from a case id copies the case's links, never another tenant's",
          "[integration][fieldservice][cases]") {
    const std::string tenant = UniqueTenant("fsk");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    SupportClient support(TokenFor(tenant, {"support_agent"}));
    ContactsClient contacts(TokenFor(tenant));
    const auto person = contacts.MustCreate("Jonas", "Weber", "jonas.weber@example.com");
    const auto c = MustCase(support, "Noise from the heat pump", "Other", person.id());
    // The case reaches field service through support's events.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (QueryScalar("fieldservice", "SELECT count(*) FROM support_cases WHERE case_id = '" + c.id() + "'") == "0" &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    const auto from_case = MustWorkOrder(api, {.case_id = c.id()});
    CHECK(from_case.contact_id() == person.id());
    CHECK(from_case.case_id() == c.id());
    CHECK(from_case.has_site());
    // A follow-up visit of the same case is the dispatcher's call: allowed.
    CHECK(MustWorkOrder(api, {.case_id = c.id()}).contact_id() == person.id());
    // A contact given wins over the case's.
    const auto other_person = contacts.MustCreate("Lea", "Wolf", "lea.wolf@example.com");
    fv1::CreateWorkOrderRequest req;
    auto* w = req.mutable_work_order();
    w->set_title("Second opinion");
    w->set_case_id(c.id());
    w->set_contact_id(other_person.id());
    w->mutable_site()->set_address("Alexanderplatz 1, Berlin");
    w->mutable_site()->mutable_location()->set_latitude(52.52);
    w->mutable_site()->mutable_location()->set_longitude(13.405);
    w->set_work_type("repair");
    w->set_duration_minutes(30);
    auto given = api.CreateWorkOrder(req);
    REQUIRE(given.ok());
    CHECK(given.response.work_order().contact_id() == other_person.id());

    // Another tenant naming this case id learns nothing of it: stored as a plain link, no contact copied.
    FieldServiceClient elsewhere(TokenFor(UniqueTenant("fsk"), {"dispatcher"}));
    const auto foreign = MustWorkOrder(elsewhere, {.case_id = c.id()});
    CHECK(foreign.case_id() == c.id());
    CHECK(foreign.contact_id().empty());
    // A bad case id is named.
    w->set_case_id(std::string("case\0", 5));
    CHECK(HasViolation(api.CreateWorkOrder(req).status, "work_order.case_id"));
}

TEST_CASE("fieldservice: case created, work order made, dispatched, completed: an internal note on the case",
          "[integration][fieldservice][cases]") {
    const std::string tenant = UniqueTenant("fse");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    SupportClient support(TokenFor(tenant, {"support_agent"}));
    MustSetCategories(api, {Category("Heating", "repair", 60)});
    const auto c = MustCase(support, "Radiator cold", "Heating");
    const auto made = AwaitWorkOrders(api, c.id(), 1);
    REQUIRE(made.size() == 1);
    const std::string id = made[0].id();

    // The dispatcher sets the site, books the technician, and the technician does the job.
    fv1::UpdateWorkOrderRequest site;
    site.mutable_work_order()->set_id(id);
    site.mutable_work_order()->mutable_site()->set_address("Alexanderplatz 1, Berlin");
    site.mutable_work_order()->mutable_site()->mutable_location()->set_latitude(52.52);
    site.mutable_work_order()->mutable_site()->mutable_location()->set_longitude(13.405);
    site.mutable_update_mask()->add_paths("site");
    auto with_site = api.UpdateWorkOrder(site);
    INFO(with_site.status.error_message());
    REQUIRE(with_site.ok());
    CHECK(with_site.response.work_order().site().address() == "Alexanderplatz 1, Berlin");
    const auto tech = MustTechnician(api, {.user_id = "radiator", .latitude = 52.53});
    fv1::DispatchWorkOrderRequest d;
    d.set_work_order_id(id);
    d.set_technician_id(tech.id());
    auto booked = api.DispatchWorkOrder(d);
    INFO(booked.status.error_message());
    REQUIRE(booked.ok());
    for (auto to :
         {fv1::WORK_ORDER_STATUS_DISPATCHED, fv1::WORK_ORDER_STATUS_EN_ROUTE, fv1::WORK_ORDER_STATUS_ON_SITE}) {
        fv1::ChangeWorkOrderStatusRequest change;
        change.set_id(id);
        change.set_status(to);
        auto r = api.ChangeWorkOrderStatus(change);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
    }
    fv1::CompleteWorkOrderRequest done;
    done.set_id(id);
    done.mutable_completion()->set_notes("Valve replaced.\nSystem bled.");
    auto completed = api.CompleteWorkOrder(done);
    INFO(completed.status.error_message());
    REQUIRE(completed.ok());

    // Support notes the visit on the case (the consumer may lag): one internal note, the case not solved.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    spv1::ListCaseMessagesRequest lm;
    lm.set_case_id(c.id());
    std::vector<spv1::CaseMessage> notes;
    while (notes.empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto r = support.ListCaseMessages(lm);
        REQUIRE(r.ok());
        for (const auto& m : r.response.messages()) {
            if (m.kind() == spv1::MESSAGE_KIND_INTERNAL_NOTE) notes.push_back(m);
        }
    }
    REQUIRE(notes.size() == 1);
    const std::string& body = notes[0].body();
    INFO(body);
    CHECK(body.find("Field visit completed: work order \"CS-" + std::to_string(c.number()) + ": Radiator cold\" (" +
                    id + ")") == 0);
    CHECK(body.find("First-time fix: yes.") != std::string::npos);
    CHECK(body.find("Technician: " + tech.id() + ".") != std::string::npos);
    CHECK(body.find("Technician's notes:\nValve replaced.\nSystem bled.") != std::string::npos);
    CHECK(notes[0].author_name() == "Field service");
    spv1::GetCaseRequest gc;
    gc.set_id(c.id());
    auto after = support.GetCase(gc);
    REQUIRE(after.ok());
    CHECK(after.response.case_().status() == c.status());  // not solved or closed by the visit
    CHECK(after.response.case_().message_count() == c.message_count() + 1);
}

TEST_CASE("fieldservice: the case queries are index-backed as the app role at scale",
          "[integration][fieldservice][cases][explain]") {
    const std::string tenant = UniqueTenant("fscx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_FIELDSERVICE_URL"));
    std::string case_id;
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // 20,000 known cases, 20,000 work orders of cases, and 3,000 other tenants' visit category lists.
        tx.exec("INSERT INTO support_cases (tenant_id, case_id, case_number, category, case_version) SELECT " + t +
                ", gen_random_uuid(), g, 'Heating', 1 FROM generate_series(1, 20000) g");
        tx.exec(
            "INSERT INTO work_orders (tenant_id, id, case_id, title, site_address, site, work_type, duration_minutes) "
            "SELECT " +
            t +
            ", gen_random_uuid(), case_id, 'pv1.Job', 'pv1.Street', ST_SetSRID(ST_MakePoint(13.4, 52.5), "
            "4326)::geography, "
            "'repair', 60 FROM support_cases WHERE tenant_id = " +
            t);
        tx.exec("INSERT INTO visit_categories (tenant_id, id, categories, version) SELECT " + t +
                " || '-' || g, gen_random_uuid(), '[{\"category\":\"Heating\"}]', 1 FROM generate_series(1, 3000) g");
        tx.exec("INSERT INTO visit_categories (tenant_id, id, categories, version) VALUES (" + t +
                ", gen_random_uuid(), '[{\"category\":\"Heating\"}]', 1)");
        case_id =
            tx.exec("SELECT case_id::text FROM support_cases WHERE tenant_id = " + t + " AND case_number = 777")[0][0]
                .as<std::string>();
        tx.exec("ANALYZE support_cases");
        tx.exec("ANALYZE work_orders");
        tx.exec("ANALYZE visit_categories");
        tx.commit();
    }
    const std::string key = "'" + tenant + "', '" + case_id + "'";
    struct Query {
        const char* what;
        const crm::common::Sql& statement;
        std::string args;
        const char* index;
        const char* table;
    };
    const Query queries[] = {
        {"has a work order", crm::fieldservice::sql::kCaseHasWorkOrder, key, "work_orders_case", "work_orders"},
        {"the case's links", crm::fieldservice::sql::kGetCase, key, "support_cases_pkey", "support_cases"},
        {"the case upserted", crm::fieldservice::sql::kUpsertCase, key + ", 777, NULL, NULL, 'Heating', 2",
         "support_cases_pkey", "support_cases"},
        {"the visit category", crm::fieldservice::sql::kFindVisitCategory, "'" + tenant + "', 'Heating'",
         "visit_categories_pkey", "visit_categories"},
    };
    for (const auto& q : queries) {
        const QueryPlan plan = ExplainAs(conn, "fieldservice_app", tenant, q.statement.text, q.args);
        INFO(q.what << " (" << plan.ms << " ms): " << plan.text);
        if (std::string(q.what) != "the case upserted") CHECK(plan.Uses(q.index));  // an insert names no index scan
        CHECK_FALSE(plan.Has(std::string("Seq Scan ") + q.table));
        CHECK(plan.ms < 200);
    }
}
