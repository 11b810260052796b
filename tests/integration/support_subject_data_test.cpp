// Data-subject requests in support (services/support/src/subject_data/): a customer's cases (linked to their contact,
// or opened from their address) with every entry (their e-mail with an attachment, a phone log, an internal note about
// them, the solving reply) and their satisfaction answer are resolved from the contact id or the address, exported and
// erased; the cases keep their ids, status, SLA times and the CSAT score. A repeated request id returns the first
// counts, a new one changes nothing, another tenant's case from the same address is untouched; bad input and roles.
// The statements are index-backed as the app role at 100,000 cases.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "../support/contacts_client.hpp"
#include "../support/explain.hpp"
#include "../support/http_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/subject_data.hpp"
#include "../support/support_client.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"
#include "subject_data/sql.hpp"

using namespace crm::test;

namespace {

std::map<std::string, std::int64_t> Counts(const pv1::EraseSubjectResponse& r) {
    std::map<std::string, std::int64_t> out;
    for (const auto& c : r.records()) out[c.resource_type()] = c.count();
    return out;
}

bool AnyContains(const nlohmann::json& records, const std::string& field, const std::string& needle) {
    for (const auto& r : records) {
        if (r[field].dump().find(needle) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("support subject data: a customer's cases, conversation and CSAT comment are resolved, exported and erased",
          "[integration][support][subject_data]") {
    const std::string tenant = UniqueTenant("sdsr");
    const std::string other_tenant = UniqueTenant("sdsro");
    const std::string token = TokenFor(tenant);
    ContactsClient contacts(token);
    SupportClient api(token);
    const std::string tag = "Zs" + crm::common::NewUuid().substr(0, 8);
    const std::string other_tag = "Zt" + crm::common::NewUuid().substr(0, 8);
    const std::string local = "dsr-" + crm::common::NewUuid().substr(0, 8);
    const std::string email = local + "@example.com";
    const auto contact = contacts.MustCreate("Dora", "Tester", email);

    // Case A, opened by the customer's e-mail (linked to their contact by the address), with a phone log, a note
    // about them and the solving reply, whose survey they answer with a comment.
    const spv1::Case a =
        CaseByEmail(api, email, "Heater of " + tag, "My flat at " + tag + " is cold", "scan-" + tag + ".pdf");
    REQUIRE(a.contact_id() == contact.id());
    spv1::CaseMessage note;
    note.set_kind(spv1::MESSAGE_KIND_INTERNAL_NOTE);
    note.set_body("Customer " + tag + " sounded upset");
    AddEntry(api, a.id(), note);
    spv1::CaseMessage call;
    call.set_kind(spv1::MESSAGE_KIND_CUSTOMER_MESSAGE);
    call.set_channel(spv1::CHANNEL_PHONE);
    call.set_body("Transcript: this is " + tag + " calling");
    call.mutable_phone_call()->set_from_number("+49301234567");
    call.mutable_phone_call()->set_recording_ref("rec-" + tag);
    call.mutable_phone_call()->set_duration_seconds(90);
    AddEntry(api, a.id(), call);
    spv1::CaseMessage reply;
    reply.set_kind(spv1::MESSAGE_KIND_PUBLIC_REPLY);
    reply.set_body("We will visit " + tag + " tomorrow");
    const auto solved = AddEntry(api, a.id(), reply, true);
    REQUIRE(crm::common::IsUuid(solved.csat_survey_id()));
    Mailpit mailpit;
    const auto mails = mailpit.WaitFor(email, 1);
    REQUIRE(mails.size() == 1);
    const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + mails[0].id));
    const std::string text = message["Text"].get<std::string>();
    const std::size_t at = text.find("/csat/");
    REQUIRE(at != std::string::npos);
    const std::string path = text.substr(at, text.find_first_of(" \r\n", at) - at);
    HttpClient http(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    const HttpReply answered = http.Send("POST", path, {{"content-type", "application/json"}},
                                         nlohmann::json{{"score", 2}, {"comment", "Too slow, " + tag}}.dump());
    INFO(answered.body);
    REQUIRE(answered.status == 200);
    // Case B, through the API, linked to the contact.
    const spv1::Case b = api.MustCreateCase("Invoice of " + tag, contact.id());
    api.MustAddMessage(b.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "Call me back about " + tag);
    // Another tenant's case from the same address.
    SupportClient other(TokenFor(other_tenant));
    const spv1::Case foreign = CaseByEmail(other, email, "Other " + other_tag, "Hello", "other.pdf");

    SubjectDataClient subjects("CRM_TEST_SUPPORT", tenant);
    const pv1::Subject subject = MakeSubject({contact.id()}, {}, {email});

    SECTION("resolve, export, erase, repeat") {
        pv1::ResolveSubjectRequest rq;
        pv1::ResolveSubjectResponse resolved;
        *rq.mutable_subject() = MakeSubject({contact.id()}, {}, {});
        REQUIRE(subjects.ResolveSubject(rq, &resolved).ok());
        CHECK(resolved.service() == "support");
        CHECK(std::vector<std::string>(resolved.subject().emails().begin(), resolved.subject().emails().end()) ==
              std::vector<std::string>{email});
        *rq.mutable_subject() = MakeSubject({}, {}, {email});
        REQUIRE(subjects.ResolveSubject(rq, &resolved).ok());
        CHECK(std::vector<std::string>(resolved.subject().contact_ids().begin(),
                                       resolved.subject().contact_ids().end()) ==
              std::vector<std::string>{contact.id()});

        pv1::ExportSubjectRequest ex;
        *ex.mutable_subject() = subject;
        pv1::ExportSubjectResponse exported;
        REQUIRE(subjects.ExportSubject(ex, &exported).ok());
        const auto cases = Records(exported, "case");
        REQUIRE(cases.size() == 2);
        CHECK(cases[0]["id"] == a.id());  // oldest first
        CHECK(cases[0]["customer_email"] == email);
        CHECK(cases[0]["subject"] == "Heater of " + tag);
        CHECK(cases[1]["subject"] == "Invoice of " + tag);
        const auto entries = Records(exported, "case_message");
        CHECK(entries.size() == 5);
        CHECK(AnyContains(entries, "body", "Customer " + tag + " sounded upset"));
        CHECK(AnyContains(entries, "body", "My flat at " + tag));
        CHECK(AnyContains(entries, "attachments", "scan-" + tag + ".pdf"));
        CHECK(AnyContains(entries, "phone_call", "rec-" + tag));
        CHECK(AnyContains(entries, "body", "Call me back about " + tag));
        const auto surveys = Records(exported, "csat_survey");
        REQUIRE(surveys.size() == 1);
        CHECK(surveys[0]["comment"] == "Too slow, " + tag);
        CHECK(surveys[0]["score"] == 2);

        const auto first = MustErase(subjects, subject, "erase-1");
        CHECK(first.service() == "support");
        CHECK(Counts(first) ==
              std::map<std::string, std::int64_t>{{"case_message", 5}, {"csat_survey", 1}, {"case", 2}});
        // Nothing of the customer is left; the other tenant's case keeps their address, sealed (migration 0104), so it
        // appears in no column in clear.
        CHECK(ColumnsContaining("support", tag).empty());
        // (The other tenant's own events about its case carry the address too: their outbox rows are that tenant's.)
        CHECK(ColumnsContaining("support", local, {"crm_outbox"}).empty());
        CHECK(QueryScalar("support", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant +
                                         "' AND position(convert_to('" + local + "', 'UTF8') IN envelope) > 0") == "0");
        // The cases stay: status, priority, times, counters; the score stays.
        spv1::GetCaseRequest g;
        g.set_id(a.id());
        auto after = api.GetCase(g);
        REQUIRE(after.ok());
        const auto& c = after.response.case_();
        CHECK(c.status() == spv1::CASE_STATUS_SOLVED);
        CHECK(c.subject() == "(erased)");
        CHECK(c.description().empty());
        CHECK(c.customer_email().empty());
        CHECK(c.contact_id() == contact.id());
        CHECK(c.number() == a.number());
        CHECK(c.priority() == a.priority());
        CHECK(c.solve_time().seconds() == solved.case_().solve_time().seconds());
        CHECK(c.message_count() == solved.case_().message_count());
        CHECK(QueryScalar("support", "SELECT score FROM csat_surveys WHERE id = '" + solved.csat_survey_id() + "'") ==
              "2");
        CHECK(QueryScalar("support", "SELECT count(*) FROM case_messages WHERE tenant_id = '" + tenant +
                                         "' AND erase_time IS NOT NULL") == "5");

        // The same request id: the first counts; a new one: nothing left.
        CHECK(Counts(MustErase(subjects, subject, "erase-1")) == Counts(first));
        for (const auto& [type, n] : Counts(MustErase(subjects, subject, "erase-2"))) CHECK(n == 0);

        // The other tenant's case of the same address is untouched.
        SubjectDataClient theirs("CRM_TEST_SUPPORT", other_tenant);
        pv1::ExportSubjectResponse their_export;
        *ex.mutable_subject() = MakeSubject({}, {}, {email});
        REQUIRE(theirs.ExportSubject(ex, &their_export).ok());
        const auto their_cases = Records(their_export, "case");
        REQUIRE(their_cases.size() == 1);
        CHECK(their_cases[0]["id"] == foreign.id());
        CHECK(their_cases[0]["subject"] == "Other " + other_tag);
    }

    SECTION("bad input names the field - roles other than privacy_officer or admin are refused") {
        pv1::EraseSubjectRequest er;
        pv1::EraseSubjectResponse out;
        er.set_request_id("bad-1");
        *er.mutable_subject() = MakeSubject({"123"}, {}, {});
        auto s = subjects.EraseSubject(er, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject.contact_ids[0]"));
        *er.mutable_subject() = MakeSubject({}, {}, {"DORA@EXAMPLE.COM"});
        s = subjects.EraseSubject(er, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject.emails[0]"));
        er.clear_subject();
        s = subjects.EraseSubject(er, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject"));
        SubjectDataClient rep("CRM_TEST_SUPPORT", tenant, {"sales_rep"});
        pv1::ExportSubjectRequest ex;
        pv1::ExportSubjectResponse exported;
        *ex.mutable_subject() = subject;
        CHECK(rep.ExportSubject(ex, &exported).error_code() == grpc::StatusCode::PERMISSION_DENIED);
        *er.mutable_subject() = subject;
        CHECK(rep.EraseSubject(er, &out).error_code() == grpc::StatusCode::PERMISSION_DENIED);
        spv1::GetCaseRequest g;
        g.set_id(b.id());
        CHECK(api.GetCase(g).response.case_().subject() == "Invoice of " + tag);
    }
}

TEST_CASE("support subject data: the statements are index-backed as the app role at 100k cases",
          "[integration][support][subject_data][explain]") {
    const std::string tenant = UniqueTenant("sdsx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // 100,000 cases of 10,000 contacts (half opened from an address), 100,000 entries, 50,000 surveys, 20,000
        // routings; personal columns as sealed stand-ins ("pv1.", as stored since migration 0104) with a stand-in
        // blind index of the address (sha256 here: any 64 hex characters).
        tx.exec(
            "INSERT INTO cases (tenant_id, id, number, subject, contact_id, customer_email, customer_email_index, "
            "create_time) SELECT " +
            t +
            ", md5('case' || g)::uuid, g, 'pv1.Case' || g, md5('contact' || g % 10000)::uuid, "
            "CASE WHEN g % 2 = 0 THEN 'pv1.c' || g % 10000 ELSE '' END, "
            "CASE WHEN g % 2 = 0 THEN encode(sha256(convert_to('c' || g % 10000, 'UTF8')), 'hex') ELSE '' END, "
            "now() - g * interval '1 second' FROM generate_series(1, 100000) g");
        tx.exec(
            "INSERT INTO case_messages (tenant_id, id, case_id, kind, channel, author_id, body, occur_time) "
            "SELECT " +
            t +
            ", gen_random_uuid(), md5('case' || g)::uuid, "
            "(ARRAY['CUSTOMER_MESSAGE','PUBLIC_REPLY','INTERNAL_NOTE'])[1 + g % 3], 'EMAIL', "
            "md5('contact' || g % 10000)::uuid::text, 'pv1.text' || g, now() FROM generate_series(1, 100000) g");
        tx.exec(
            "INSERT INTO csat_surveys (tenant_id, id, case_id, reply_id, contact_id, solve_time, expire_time) "
            "SELECT " +
            t +
            ", gen_random_uuid(), md5('case' || g)::uuid, gen_random_uuid(), "
            "md5('contact' || g % 10000)::uuid, now(), now() + interval '1 day' FROM generate_series(1, 50000) g");
        tx.exec("INSERT INTO case_routings (tenant_id, id, case_id, rule_index, reason, note) SELECT " + t +
                ", gen_random_uuid(), md5('case' || g)::uuid, 0, 'NEW_CASE', 'pv1.n' FROM generate_series(1, 20000) g");
        for (const char* table : {"cases", "case_messages", "csat_surveys", "case_routings"}) {
            tx.exec(std::string("ANALYZE ") + table);
        }
        tx.commit();
    }
    namespace sql = crm::support::subject_data::sql;
    // $3: blind indexes of addresses (that of c7's stand-in, and one of nobody).
    const std::string args = "'" + tenant + "', '{" + crm::common::NewUuid() + "}', '{" +
                             QueryScalar("support", "SELECT encode(sha256(convert_to('c7', 'UTF8')), 'hex')") + "}'";
    const std::string by_contact = "'" + tenant + "', '{" +
                                   QueryScalar("support", "SELECT md5('contact7')::uuid::text") + "}', '{" +
                                   std::string(64, '0') + "}'";
    const crm::common::Sql* statements[] = {
        &sql::kLinked,        &sql::kExportCases,         &sql::kExportMessages,    &sql::kExportSurveys,
        &sql::kEraseMessages, &sql::kEraseSurveyComments, &sql::kEraseRoutingNotes, &sql::kEraseCases,
        &sql::kCaseIds};
    for (const auto* s : statements) {
        for (const std::string& a : {args, by_contact}) {
            const QueryPlan plan = ExplainAs(conn, "support_app", tenant, s->text, a);
            INFO(s->name << " (" << plan.ms << " ms): " << plan.text);
            // The contact branch by cases_tenant_contact, the address branch by the blind index
            // cases_customer_email_index (an empty list reads nothing: a one-time filter).
            CHECK(plan.Uses("cases_tenant_contact"));
            CHECK(plan.Uses("cases_customer_email_index"));
            for (const char* table : {"cases", "case_messages", "csat_surveys", "case_routings"}) {
                CHECK_FALSE(plan.Has(std::string("Seq Scan ") + table));
            }
        }
    }
}
