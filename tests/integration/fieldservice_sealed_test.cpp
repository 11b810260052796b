// Encryption at rest of field service's personal values (issue 15; migration 0007, services/fieldservice/README.md):
// what the database owner sees of a work order (title, description, site address, status reason, the completion's
// notes and answers, the history's reasons, a stored offline reply) is sealed values, never the clear ones, while the
// site's point stays clear; the API opens them; an erased work order's key is destroyed, so its sealed bytes, in a
// backup, open nowhere; rows written before are sealed by a second fieldservice process before it serves; the
// backfills' batches are index-backed (EXPLAIN as the app role).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "../support/child_service.hpp"
#include "../support/explain.hpp"
#include "../support/fieldservice_client.hpp"
#include "../support/subject_data.hpp"
#include "crm/common/sealed_columns.hpp"
#include "sealed.hpp"
#include "workorders/sql.hpp"

using namespace crm::test;

namespace {

const std::int64_t kMonday = UtcSeconds(2027, 3, 29);

bool IsSealed(const std::string& v) { return v.rfind("pv1.", 0) == 0; }

// The personal columns of one work order as the database owner reads them (no row-level security), with its history's
// reasons ("reasons", joined by '|').
std::map<std::string, std::string> Stored(const std::string& tenant, const std::string& id) {
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_FIELDSERVICE_URL"));
    pqxx::nontransaction tx(conn);
    const pqxx::result r = tx.exec(
        "SELECT title, description, coalesce(site_address, '<null>'), status_reason, coalesce(completion::text, ''), "
        "(SELECT coalesce(string_agg(h.reason, '|' ORDER BY h.seq), '') FROM work_order_history h "
        "WHERE h.tenant_id = w.tenant_id AND h.work_order_id = w.id) FROM work_orders w WHERE w.tenant_id = " +
        tx.quote(tenant) + " AND w.id = " + tx.quote(id) + "::uuid");
    std::map<std::string, std::string> out;
    if (r.empty()) return out;
    const char* names[] = {"title", "description", "site_address", "status_reason", "completion", "reasons"};
    for (int i = 0; i < 6; ++i) out[names[i]] = r[0][i].c_str();
    return out;
}

std::string KeyCount(const std::string& tenant, const std::string& id) {
    return QueryScalar("fieldservice", "SELECT count(*) FROM crm_subject_keys WHERE tenant_id = '" + tenant +
                                           "' AND subject_id = '" + id + "'");
}

fv1::ChangeWorkOrderStatusRequest Change(const std::string& id, fv1::WorkOrderStatus to, const std::string& reason) {
    fv1::ChangeWorkOrderStatusRequest c;
    c.set_id(id);
    c.set_status(to);
    c.set_reason(reason);
    return c;
}

}  // namespace

TEST_CASE("fieldservice at rest: the owner sees sealed work orders, the API the clear values",
          "[integration][fieldservice][sealed]") {
    const std::string tenant = UniqueTenant("fss");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string address = "Privatweg 7, " + uniq + " Hof";
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    const auto tech = MustTechnician(api, {.user_id = "seal-" + uniq});

    fv1::CreateWorkOrderRequest create;
    auto* w = create.mutable_work_order();
    w->set_title("Boiler of Frau Weber " + uniq);
    w->set_description("Frau Weber works nights, ring twice " + uniq);
    w->mutable_site()->set_address(address);
    w->mutable_site()->mutable_location()->set_latitude(52.52);
    w->mutable_site()->mutable_location()->set_longitude(13.405);
    w->set_work_type("repair");
    w->set_duration_minutes(60);
    w->add_checklist("filter");
    auto* skill = w->add_required_skills();
    skill->set_skill("hvac");
    skill->set_min_level(2);
    *w->add_time_windows() = Window(kMonday + 6 * 3600, kMonday + 15 * 3600);
    const auto created = api.CreateWorkOrder(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const fv1::WorkOrder wo = created.response.work_order();
    CHECK(wo.title() == "Boiler of Frau Weber " + uniq);
    CHECK(wo.site().address() == address);

    auto stored = Stored(tenant, wo.id());
    CHECK(IsSealed(stored.at("title")));
    CHECK(IsSealed(stored.at("description")));
    CHECK(IsSealed(stored.at("site_address")));
    CHECK(QueryScalar("fieldservice",
                      "SELECT round(ST_Y(site::geometry)::numeric, 2)::text FROM work_orders WHERE id = '" + wo.id() +
                          "'") == "52.52");  // the point stays clear (scheduling)
    CHECK(KeyCount(tenant, wo.id()) == "1");

    // Booked and worked: a reason on a status change, a completion with notes and an answer.
    fv1::DispatchWorkOrderRequest d;
    d.set_work_order_id(wo.id());
    d.set_technician_id(tech.id());
    const auto dispatched = api.DispatchWorkOrder(d);
    INFO(dispatched.status.error_message());
    REQUIRE(dispatched.ok());
    REQUIRE(api.ChangeWorkOrderStatus(Change(wo.id(), fv1::WORK_ORDER_STATUS_DISPATCHED, "")).ok());
    const auto en_route =
        api.ChangeWorkOrderStatus(Change(wo.id(), fv1::WORK_ORDER_STATUS_EN_ROUTE, "Frau Weber called " + uniq));
    INFO(en_route.status.error_message());
    REQUIRE(en_route.ok());
    CHECK(en_route.response.work_order().status_reason() == "Frau Weber called " + uniq);
    stored = Stored(tenant, wo.id());
    CHECK(IsSealed(stored.at("status_reason")));
    REQUIRE(api.ChangeWorkOrderStatus(Change(wo.id(), fv1::WORK_ORDER_STATUS_ON_SITE, "")).ok());
    fv1::CompleteWorkOrderRequest done;
    done.set_id(wo.id());
    auto* answer = done.mutable_completion()->add_checklist_answers();
    answer->set_item("filter");
    answer->set_answer("her cat sat on it " + uniq);
    done.mutable_completion()->set_notes("Frau Weber was happy " + uniq);
    const auto completed = api.CompleteWorkOrder(done);
    INFO(completed.status.error_message());
    REQUIRE(completed.ok());
    CHECK(completed.response.work_order().completion().notes() == "Frau Weber was happy " + uniq);
    CHECK(completed.response.work_order().completion().checklist_answers(0).answer() == "her cat sat on it " + uniq);

    stored = Stored(tenant, wo.id());
    const nlohmann::json completion = nlohmann::json::parse(stored.at("completion"));
    CHECK(IsSealed(completion.at("notes").get<std::string>()));
    CHECK(IsSealed(completion.at("checklistAnswers").at(0).at("answer").get<std::string>()));
    CHECK(completion.at("checklistAnswers").at(0).at("item") == "filter");  // the tenant's checklist, not personal
    CHECK(stored.at("reasons").find("pv1.") != std::string::npos);
    CHECK(ColumnsContaining("fieldservice", {"Weber", uniq + " Hof", "cat sat"}, {}, tenant).empty());

    // The API opens them: get, list, the history.
    fv1::GetWorkOrderRequest get;
    get.set_id(wo.id());
    const auto got = api.GetWorkOrder(get);
    REQUIRE(got.ok());
    const fv1::WorkOrder& read = got.response.work_order();
    CHECK(read.title() == "Boiler of Frau Weber " + uniq);
    CHECK(read.description() == "Frau Weber works nights, ring twice " + uniq);
    CHECK(read.site().address() == address);
    CHECK(read.completion().notes() == "Frau Weber was happy " + uniq);
    bool reason_seen = false;
    for (const auto& h : read.history()) reason_seen = reason_seen || h.reason() == "Frau Weber called " + uniq;
    CHECK(reason_seen);
    fv1::ListWorkOrdersRequest list;
    const auto listed = api.ListWorkOrders(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.work_orders_size() == 1);
    CHECK(listed.response.work_orders(0).site().address() == address);
}

TEST_CASE("fieldservice at rest: an erased work order's data key is destroyed, so its sealed bytes open nowhere",
          "[integration][fieldservice][sealed][subject_data]") {
    const std::string tenant = UniqueTenant("fss");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string contact = crm::common::NewUuid();
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    fv1::CreateWorkOrderRequest create;
    auto* w = create.mutable_work_order();
    w->set_title("Leak at Erin's " + uniq);
    w->set_contact_id(contact);
    w->mutable_site()->set_address("Erinweg 3, " + uniq);
    w->mutable_site()->mutable_location()->set_latitude(52.5);
    w->mutable_site()->mutable_location()->set_longitude(13.4);
    w->set_work_type("repair");
    w->set_duration_minutes(30);
    const auto created = api.CreateWorkOrder(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const std::string id = created.response.work_order().id();

    SubjectDataClient officer("CRM_TEST_FIELDSERVICE", tenant);
    pv1::ExportSubjectRequest ex;
    *ex.mutable_subject() = MakeSubject({contact}, {}, {});
    pv1::ExportSubjectResponse exported;
    REQUIRE(officer.ExportSubject(ex, &exported).ok());
    const auto orders = Records(exported, "work_order");
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].at("title") == "Leak at Erin's " + uniq);
    CHECK(orders[0].at("site_address") == "Erinweg 3, " + uniq);

    const auto backup = Stored(tenant, id);
    REQUIRE(IsSealed(backup.at("title")));
    REQUIRE(KeyCount(tenant, id) == "1");
    MustErase(officer, MakeSubject({contact}, {}, {}), "erase-" + uniq);

    CHECK(KeyCount(tenant, id) == "0");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_FIELDSERVICE_URL"));
    pqxx::nontransaction tx(conn);
    const pqxx::row key_row = tx.exec1(
        "SELECT " CRM_SUBJECT_KEY_COLUMN("w.tenant_id", "w.id::text") " FROM work_orders w WHERE w.tenant_id = " +
        tx.quote(tenant) + " AND w.id = " + tx.quote(id) + "::uuid");
    CHECK(key_row[0].is_null());
    const crm::common::ColumnKey key(tenant, id, key_row[0]);
    CHECK(key.Open("work_orders.title", backup.at("title")).empty());
    CHECK(key.Open("work_orders.site_address", backup.at("site_address")).empty());
    const auto erased = Stored(tenant, id);
    CHECK(erased.at("title") == "(erased)");
    CHECK(erased.at("site_address") == "<null>");
    fv1::GetWorkOrderRequest get;
    get.set_id(id);
    const auto got = api.GetWorkOrder(get);
    INFO(got.status.error_message());
    REQUIRE(got.ok());
    CHECK(got.response.work_order().title() == "(erased)");
    CHECK(ColumnsContaining("fieldservice", {"Erin"}, {}, tenant).empty());
}

TEST_CASE("fieldservice at rest: rows written before are sealed by a fieldservice process before it serves",
          "[integration][fieldservice][sealed][backfill]") {
    const std::string tenant = UniqueTenant("fss");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string note = "written before encryption at rest " + uniq;
    std::string full, from_case, erased;
    {
        // As the database owner, in the tenant, rows as the service wrote them before.
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_FIELDSERVICE_URL"));
        pqxx::work tx(conn);
        tx.exec("SELECT set_config('crm.tenant_id', " + tx.quote(tenant) + ", true)");
        const std::string t = tx.quote(tenant);
        const std::string completion = R"({"notes":")" + note +
                                       R"(","checklistAnswers":[{"item":"filter","answer":"old answer )" + uniq +
                                       R"("}]})";
        full = tx.exec1(
                     "INSERT INTO work_orders (tenant_id, id, title, description, site_address, site, work_type, "
                     "duration_minutes, status, status_reason, completion) VALUES (" +
                     t + ", gen_random_uuid(), 'Old job', " + tx.quote(note) +
                     ", 'Altweg 1', ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326)::geography, 'repair', 60, "
                     "'COMPLETED', " +
                     tx.quote(note) + ", " + tx.quote(completion) + "::jsonb) RETURNING id::text")[0]
                   .as<std::string>();
        tx.exec(
            "INSERT INTO work_order_history (tenant_id, work_order_id, seq, from_status, to_status, change_time, "
            "reason) VALUES (" +
            t + ", " + tx.quote(full) + "::uuid, 1, 'ON_SITE', 'COMPLETED', now(), " + tx.quote(note) + ")");
        from_case = tx.exec1("INSERT INTO work_orders (tenant_id, id, title, work_type, duration_minutes) VALUES (" +
                             t + ", gen_random_uuid(), 'From a case', 'repair', 60) RETURNING id::text")[0]
                        .as<std::string>();
        erased = tx.exec1("INSERT INTO work_orders (tenant_id, id, title, work_type, duration_minutes) VALUES (" + t +
                          ", gen_random_uuid(), '(erased)', 'repair', 60) RETURNING id::text")[0]
                     .as<std::string>();
        tx.commit();
    }
    REQUIRE(Stored(tenant, full).at("description") == note);

    const int port = FreePort();
    const std::string address = "127.0.0.1:" + std::to_string(port);
    auto env = ChildServiceEnv("fieldservice", port, FreePort());
    // A replica of the stack's: the same support topic and group, the support service's keys.
    env["CRM_FIELDSERVICE_SUPPORT_ADDR"] = RequireEnv("CRM_TEST_SUPPORT");
    env["CRM_SHUTDOWN_GRACE_SECONDS"] = "2";
    ChildProcess service(CRM_FIELDSERVICE_BINARY, {}, env, "/tmp/crm-fieldservice-backfill.log");
    REQUIRE(WaitServing(address, std::chrono::seconds(240)));

    const auto s = Stored(tenant, full);
    for (const char* c : {"title", "description", "site_address", "status_reason", "reasons"}) {
        INFO(c << " = " << s.at(c));
        CHECK(IsSealed(s.at(c)));
    }
    const nlohmann::json completion = nlohmann::json::parse(s.at("completion"));
    CHECK(IsSealed(completion.at("notes").get<std::string>()));
    CHECK(IsSealed(completion.at("checklistAnswers").at(0).at("answer").get<std::string>()));
    CHECK(IsSealed(Stored(tenant, from_case).at("title")));
    CHECK(Stored(tenant, from_case).at("site_address") == "<null>");  // NULL stays NULL
    CHECK(Stored(tenant, erased).at("title") == "(erased)");
    CHECK(KeyCount(tenant, erased) == "0");
    CHECK(ColumnsContaining("fieldservice", {note, "Old job", "Altweg", "old answer"}, {}, tenant).empty());

    FieldServiceClient direct("", grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    fv1::GetWorkOrderRequest get;
    get.set_id(full);
    const auto got = direct.GetWorkOrder(get, SignedIdentity(tenant));
    INFO(got.status.error_message());
    REQUIRE(got.ok());
    CHECK(got.response.work_order().title() == "Old job");
    CHECK(got.response.work_order().site().address() == "Altweg 1");
    CHECK(got.response.work_order().completion().notes() == note);
    CHECK(got.response.work_order().completion().checklist_answers(0).answer() == "old answer " + uniq);
    REQUIRE(got.response.work_order().history_size() == 1);
    CHECK(got.response.work_order().history(0).reason() == note);
}

// The backfills find the few clear rows through the partial indexes of unsealed rows (migration 0007), at 20,000
// sealed work orders and their history in one tenant: never a scan of the tables.
TEST_CASE("fieldservice at rest: the backfills' batches are index-backed (EXPLAIN as the app role)",
          "[integration][fieldservice][sealed][explain]") {
    const std::string tenant = UniqueTenant("fsx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_FIELDSERVICE_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // Sealed-looking values (never opened here), so that a backfill running meanwhile leaves them alone.
        tx.exec(
            "INSERT INTO work_orders (tenant_id, id, title, description, site_address, site, work_type, "
            "duration_minutes, status, completion) SELECT " +
            t +
            ", gen_random_uuid(), 'pv1.T' || g, 'pv1.D' || g, 'pv1.A' || g, "
            "ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326)::geography, 'repair', 60, 'COMPLETED', "
            "jsonb_build_object('notes', 'pv1.N' || g) FROM generate_series(1, 20000) g");
        tx.exec(
            "INSERT INTO work_order_history (tenant_id, work_order_id, seq, from_status, to_status, change_time, "
            "reason) SELECT tenant_id, id, 1, 'ON_SITE', 'COMPLETED', now(), 'pv1.R' FROM work_orders "
            "WHERE tenant_id = " +
            t);
        // Rows as written before (the service's backfills seal them: harmless here).
        tx.exec(
            "INSERT INTO work_orders (tenant_id, id, title, site_address, site, work_type, duration_minutes, "
            "completion) SELECT " +
            t +
            ", gen_random_uuid(), 'Clear', 'Street', ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326)::geography, "
            "'repair', 60, '{\"notes\":\"clear\"}' FROM generate_series(1, 5) g");
        tx.exec("ANALYZE work_orders");
        tx.exec("ANALYZE work_order_history");
        tx.commit();
    }
    namespace sealed = crm::fieldservice::sealed;
    struct Case {
        crm::common::SealedTable table;
        const char* index;
    };
    for (const auto& c : {Case{sealed::WorkOrders(), "work_orders_unsealed"},
                          Case{sealed::WorkOrderSites(), "work_orders_unsealed_site"},
                          Case{sealed::History(), "work_order_history_unsealed"}}) {
        const QueryPlan plan =
            ExplainAs(conn, "fieldservice_app", tenant, crm::common::SealedBatchQuery(c.table), "'" + tenant + "'");
        INFO(c.index << " (" << plan.ms << " ms): " << plan.text);
        CHECK(plan.Uses(c.index));
        CHECK_FALSE(plan.Has("Seq Scan " + c.table.table));
    }
    const QueryPlan completions = ExplainAs(conn, "fieldservice_app", tenant,
                                            crm::fieldservice::sql::kUnsealedCompletions.text, "'" + tenant + "'");
    INFO("completions (" << completions.ms << " ms): " << completions.text);
    CHECK(completions.Uses("work_orders_unsealed_completion"));
    CHECK_FALSE(completions.Has("Seq Scan work_orders"));
}
