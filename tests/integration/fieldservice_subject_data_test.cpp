// Data-subject requests in the field service (services/fieldservice/src/subject_data/): a customer's work orders
// (by contact, and by a support case of the contact), their appointment, their offline operation and their completion
// (notes, checklist answers, signature) are found, exported and erased; what stays is the job's ids, status,
// technician, times and durations; a repeated request id returns the first counts, a new one changes nothing, another
// tenant's records are untouched; bad input and roles. The statements are index-backed as the app role.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/fieldservice_client.hpp"
#include "../support/subject_data.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"
#include "subject_data/sql.hpp"

using namespace crm::test;

namespace {

fv1::Technician AnyTimeTechnician(FieldServiceClient& api, const std::string& user) {
    fv1::CreateTechnicianRequest req;
    auto* t = req.mutable_technician();
    t->set_user_id(user);
    t->set_display_name("Tech " + user);
    t->mutable_home_base()->set_latitude(52.52);
    t->mutable_home_base()->set_longitude(13.405);
    t->set_time_zone("UTC");
    auto* s = t->add_skills();
    s->set_skill("hvac");
    s->set_level(3);
    for (int d = 0; d <= 6; ++d) {
        auto* h = t->add_working_hours();
        h->set_weekday(d);
        h->set_start_minute(0);
        h->set_end_minute(1440);
    }
    auto r = api.CreateTechnician(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.technician();
}

fv1::WorkOrder CustomerJob(FieldServiceClient& api, const std::string& contact, const std::string& case_id,
                           const std::string& tag, double lat, double lon) {
    fv1::CreateWorkOrderRequest req;
    auto* w = req.mutable_work_order();
    w->set_title("Boiler of " + tag);
    w->set_description("Ring twice, ask for " + tag);
    w->mutable_site()->set_address("Privatweg 7, " + tag + " Hof");
    w->mutable_site()->mutable_location()->set_latitude(lat);
    w->mutable_site()->mutable_location()->set_longitude(lon);
    w->set_work_type("repair");
    w->set_duration_minutes(30);
    w->set_contact_id(contact);
    w->set_case_id(case_id);
    w->add_checklist("Filter");
    auto* skill = w->add_required_skills();
    skill->set_skill("hvac");
    skill->set_min_level(1);
    const std::int64_t now = NowSeconds();
    *w->add_time_windows() = Window(now + 1800, now + 6 * 3600);
    auto r = api.CreateWorkOrder(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.work_order();
}

fv1::ChangeWorkOrderStatusRequest Change(const std::string& id, fv1::WorkOrderStatus to) {
    fv1::ChangeWorkOrderStatusRequest c;
    c.set_id(id);
    c.set_status(to);
    return c;
}

std::map<std::string, std::int64_t> Counts(const pv1::EraseSubjectResponse& r) {
    std::map<std::string, std::int64_t> out;
    for (const auto& c : r.records()) out[c.resource_type()] = c.count();
    return out;
}

// Erases (waiting while earlier events about the person are still on their way to the broker: UNAVAILABLE).
}  // namespace

TEST_CASE("fieldservice subject data: a customer's work orders are resolved, exported and erased",
          "[integration][fieldservice][subject_data]") {
    const std::string tenant = UniqueTenant("fsdsr");
    const std::string other_tenant = UniqueTenant("fsdsro");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    const std::string tag = "Zq" + crm::common::NewUuid().substr(0, 8);
    const std::string other_tag = "Zo" + crm::common::NewUuid().substr(0, 8);
    const std::string contact = crm::common::NewUuid();
    const std::string case_id = crm::common::NewUuid();

    // Job A of the contact: booked, synced offline (en route), on site, completed with notes, answers, a signature.
    const auto tech = AnyTimeTechnician(api, "dsr-tech");
    fv1::WorkOrder a = CustomerJob(api, contact, "", tag, 52.512345, 13.405678);
    fv1::DispatchWorkOrderRequest d;
    d.set_work_order_id(a.id());
    d.set_technician_id(tech.id());
    auto booked = api.DispatchWorkOrder(d);
    INFO(booked.status.error_message());
    REQUIRE(booked.ok());
    auto released = api.ChangeWorkOrderStatus(Change(a.id(), fv1::WORK_ORDER_STATUS_DISPATCHED));
    REQUIRE(released.ok());
    QueryScalar("fieldservice",
                "UPDATE work_order_history SET change_time = change_time - interval '4 hours' "
                "WHERE tenant_id = '" +
                    tenant + "'");
    FieldServiceClient as_tech(TechnicianToken(tenant, "dsr-tech"));
    fv1::SyncTechnicianDayRequest sync;
    sync.set_technician_id(tech.id());
    auto* op = sync.add_operations();
    op->set_idempotency_key("op-1");
    op->set_work_order_id(a.id());
    op->set_base_etag(released.response.work_order().etag());
    op->mutable_status_change()->set_status(fv1::WORK_ORDER_STATUS_EN_ROUTE);
    *op->mutable_status_change()->mutable_change_time() = Ts(NowSeconds() - 3600);
    auto synced = as_tech.SyncTechnicianDay(sync);
    INFO(synced.status.error_message());
    REQUIRE(synced.ok());
    REQUIRE(synced.response.results_size() == 1);
    REQUIRE(api.ChangeWorkOrderStatus(Change(a.id(), fv1::WORK_ORDER_STATUS_ON_SITE)).ok());
    fv1::CompleteWorkOrderRequest done;
    done.set_id(a.id());
    auto* answer = done.mutable_completion()->add_checklist_answers();
    answer->set_item("Filter");
    answer->set_answer("changed, " + tag + " watched");
    done.mutable_completion()->set_notes("Dog in the garden. Signed by " + tag);
    done.mutable_completion()->set_signature("PNG-signature-of-" + tag);
    auto completed = api.CompleteWorkOrder(done);
    INFO(completed.status.error_message());
    REQUIRE(completed.ok());
    a = completed.response.work_order();
    // Job B: from a support case of the contact (the case event arrives after the work order was made).
    const fv1::WorkOrder b = CustomerJob(api, "", case_id, tag, 52.5, 13.4);
    QueryScalar("fieldservice",
                "INSERT INTO support_cases (tenant_id, case_id, case_number, contact_id, category, case_version) "
                "VALUES ('" +
                    tenant + "', '" + case_id + "', 1, '" + contact + "', 'Heating', 1)");
    // Another tenant's job for the same contact id.
    FieldServiceClient other(TokenFor(other_tenant, {"dispatcher"}));
    const fv1::WorkOrder foreign = CustomerJob(other, contact, "", other_tag, 48.1, 11.5);

    SubjectDataClient subjects("CRM_TEST_FIELDSERVICE", tenant);
    SubjectDataClient other_subjects("CRM_TEST_FIELDSERVICE", other_tenant);
    const pv1::Subject subject = MakeSubject({contact}, {}, {});

    SECTION("resolve, export, erase, repeat") {
        pv1::ResolveSubjectRequest rq;
        *rq.mutable_subject() = subject;
        pv1::ResolveSubjectResponse resolved;
        REQUIRE(subjects.ResolveSubject(rq, &resolved).ok());
        CHECK(resolved.service() == "fieldservice");
        CHECK(resolved.subject().contact_ids_size() == 1);  // work orders name no other id or address
        *rq.mutable_subject() = MakeSubject({}, {}, {"someone." + contact.substr(0, 8) + "@example.com"});
        REQUIRE(subjects.ResolveSubject(rq, &resolved).ok());
        CHECK(resolved.subject().emails_size() == 1);
        CHECK(resolved.subject().contact_ids_size() == 0);

        pv1::ExportSubjectRequest ex;
        *ex.mutable_subject() = subject;
        pv1::ExportSubjectResponse exported;
        REQUIRE(subjects.ExportSubject(ex, &exported).ok());
        const auto orders = Records(exported, "work_order");
        REQUIRE(orders.size() == 2);
        std::set<std::string> ids;
        for (const auto& w : orders) ids.insert(w["id"].get<std::string>());
        CHECK(ids == std::set<std::string>{a.id(), b.id()});
        const auto& wa = orders[0]["id"] == a.id() ? orders[0] : orders[1];
        CHECK(wa["site_address"] == "Privatweg 7, " + tag + " Hof");
        CHECK(wa["description"] == "Ring twice, ask for " + tag);
        CHECK(wa["completion"]["notes"] == "Dog in the garden. Signed by " + tag);
        CHECK(wa["completion"]["checklistAnswers"][0]["answer"] == "changed, " + tag + " watched");
        CHECK(wa["signature_base64"].get<std::string>().size() > 10);
        CHECK(wa["site_latitude"].get<double>() == Approx(52.512345));
        CHECK(wa["history"].size() == 5);
        const auto appointments = Records(exported, "appointment");
        REQUIRE(appointments.size() == 1);
        CHECK(appointments[0]["work_order_id"] == a.id());
        CHECK(appointments[0]["site_latitude"].get<double>() == Approx(52.512345));
        CHECK(Records(exported, "reservation").empty());
        const auto operations = Records(exported, "sync_operation");
        REQUIRE(operations.size() == 1);
        CHECK(operations[0]["idempotency_key"] == "op-1");
        CHECK(operations[0]["result"]["workOrder"]["site"]["address"] == "Privatweg 7, " + tag + " Hof");

        const auto first = MustErase(subjects, subject, "erase-1");
        CHECK(first.service() == "fieldservice");
        CHECK(Counts(first) == std::map<std::string, std::int64_t>{
                                   {"work_order", 2}, {"appointment", 1}, {"reservation", 0}, {"sync_operation", 1}});
        // Nothing of the customer is left in the service's database (the outbox's relayed rows purged by the kit).
        CHECK(ColumnsContaining("fieldservice", tag).empty());
        // The job stays: status, technician, times, durations; the appointment's point is on a 0.01 degree grid.
        fv1::GetWorkOrderRequest g;
        g.set_id(a.id());
        auto after = api.GetWorkOrder(g);
        REQUIRE(after.ok());
        const auto& w = after.response.work_order();
        CHECK(w.status() == fv1::WORK_ORDER_STATUS_COMPLETED);
        CHECK(w.appointment().technician_id() == tech.id());
        CHECK(w.title() == "(erased)");
        CHECK(w.description().empty());
        CHECK_FALSE(w.has_site());
        CHECK(w.duration_minutes() == 30);
        CHECK(w.history_size() == 5);
        CHECK(w.completion().first_time_fix());
        CHECK(w.completion().complete_time().seconds() == a.completion().complete_time().seconds());
        CHECK(w.completion().notes().empty());
        CHECK(w.create_time().seconds() == a.create_time().seconds());
        CHECK(QueryScalar("fieldservice",
                          "SELECT ST_Y(site::geometry) || ',' || ST_X(site::geometry) FROM "
                          "appointments WHERE work_order_id = '" +
                              a.id() + "'") == "52.51,13.41");
        // The offline operation's stored answer is blanked the same way: a re-sent operation still gets it.
        auto again = as_tech.SyncTechnicianDay(sync);
        REQUIRE(again.ok());
        REQUIRE(again.response.results_size() == 1);
        CHECK(again.response.results(0).outcome() == fv1::SYNC_OUTCOME_DUPLICATE);

        // The same request id: the first counts; a new one: nothing left.
        CHECK(Counts(MustErase(subjects, subject, "erase-1")) == Counts(first));
        const auto second = MustErase(subjects, subject, "erase-2");
        for (const auto& [type, n] : Counts(second)) CHECK(n == 0);

        // The other tenant's job of the same contact id is untouched.
        pv1::ExportSubjectResponse theirs;
        REQUIRE(other_subjects.ExportSubject(ex, &theirs).ok());
        const auto their_orders = Records(theirs, "work_order");
        REQUIRE(their_orders.size() == 1);
        CHECK(their_orders[0]["id"] == foreign.id());
        CHECK(their_orders[0]["description"] == "Ring twice, ask for " + other_tag);
    }

    SECTION("bad input names the field - roles other than privacy_officer or admin are refused") {
        pv1::ExportSubjectRequest ex;
        pv1::ExportSubjectResponse out;
        *ex.mutable_subject() = MakeSubject({"not-a-uuid"}, {}, {});
        auto s = subjects.ExportSubject(ex, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject.contact_ids[0]"));
        *ex.mutable_subject() = MakeSubject({}, {}, {"Someone@Example.com"});
        s = subjects.ExportSubject(ex, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject.emails[0]"));
        ex.clear_subject();
        s = subjects.ExportSubject(ex, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject"));
        pv1::EraseSubjectRequest er;
        pv1::EraseSubjectResponse erased;
        *er.mutable_subject() = subject;
        s = subjects.EraseSubject(er, &erased);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "request_id"));
        SubjectDataClient rep("CRM_TEST_FIELDSERVICE", tenant, {"sales_rep"});
        *ex.mutable_subject() = subject;
        CHECK(rep.ExportSubject(ex, &out).error_code() == grpc::StatusCode::PERMISSION_DENIED);
        er.set_request_id("by-a-rep");
        CHECK(rep.EraseSubject(er, &erased).error_code() == grpc::StatusCode::PERMISSION_DENIED);
        // Nothing was erased by the refused calls.
        fv1::GetWorkOrderRequest g;
        g.set_id(b.id());
        CHECK(api.GetWorkOrder(g).response.work_order().description() == "Ring twice, ask for " + tag);
    }
}

TEST_CASE("fieldservice subject data: the statements are index-backed as the app role at scale",
          "[integration][fieldservice][subject_data][explain]") {
    const std::string tenant = UniqueTenant("fsdsx");
    const std::string contact = crm::common::NewUuid();
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_FIELDSERVICE_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // 50,000 cases of 5,000 contacts, 100,000 work orders (half from those cases, half with a contact).
        tx.exec(
            "INSERT INTO support_cases (tenant_id, case_id, case_number, contact_id, category, case_version) "
            "SELECT " +
            t +
            ", gen_random_uuid(), g, md5('c' || g % 5000)::uuid, 'Heating', 1 "
            "FROM generate_series(1, 50000) g");
        tx.exec(
            "INSERT INTO work_orders (tenant_id, id, case_id, title, site_address, site, work_type, "
            "duration_minutes) SELECT " +
            t +
            ", gen_random_uuid(), case_id, 'pv1.Job', 'pv1.Street', "
            "ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326)::geography, 'repair', 60 FROM support_cases "
            "WHERE tenant_id = " +
            t);
        tx.exec(
            "INSERT INTO work_orders (tenant_id, id, contact_id, title, site_address, site, work_type, "
            "duration_minutes) SELECT " +
            t +
            ", gen_random_uuid(), md5('c' || g % 5000)::uuid, 'pv1.Job', "
            "'pv1.Street', ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326)::geography, 'repair', 60 "
            "FROM generate_series(1, 50000) g");
        tx.exec("UPDATE work_orders SET contact_id = " + tx.quote(contact) + " WHERE tenant_id = " + t +
                " AND id IN (SELECT id FROM work_orders WHERE tenant_id = " + t +
                " AND contact_id IS NOT NULL "
                "LIMIT 3)");
        tx.exec("ANALYZE support_cases");
        tx.exec("ANALYZE work_orders");
        tx.exec("ANALYZE appointments");
        tx.exec("ANALYZE reservations");
        tx.exec("ANALYZE sync_operations");
        tx.exec("ANALYZE work_order_history");
        tx.commit();
    }
    namespace sql = crm::fieldservice::subject_data::sql;
    const std::string args = "'" + tenant + "', '{" + contact + "," + crm::common::NewUuid() + "}'";
    const crm::common::Sql* statements[] = {
        &sql::kWorkOrderIds,   &sql::kExportWorkOrders, &sql::kExportAppointments,  &sql::kExportReservations,
        &sql::kSyncOperations, &sql::kEraseWorkOrders,  &sql::kEraseHistoryReasons, &sql::kRoundAppointmentSites};
    for (const auto* s : statements) {
        const QueryPlan plan = ExplainAs(conn, "fieldservice_app", tenant, s->text, args);
        INFO(s->name << " (" << plan.ms << " ms): " << plan.text);
        CHECK(plan.Uses("work_orders_contact"));
        CHECK(plan.Uses("support_cases_contact"));
        // The person's work orders are found by index whatever the tenant's size. The per-work-order tables
        // (appointments, parts lines, history, offline operations) are read by work order id through their indexes
        // (migration 0006); not asserted here, the seeded tenant has no rows in them.
        CHECK_FALSE(plan.Has("Seq Scan work_orders"));
        CHECK_FALSE(plan.Has("Seq Scan support_cases"));
    }
    // The seeded rows go (children first) and the statistics are taken again, so that other tests' plans are made
    // on the tables as they were.
    pqxx::work cleanup(conn);
    for (const char* table : {"work_orders", "support_cases"}) {
        cleanup.exec(std::string("DELETE FROM ") + table + " WHERE tenant_id = " + cleanup.quote(tenant));
    }
    for (const char* table : {"work_orders", "support_cases"}) cleanup.exec(std::string("ANALYZE ") + table);
    cleanup.commit();
}
