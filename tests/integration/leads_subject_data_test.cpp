// Data-subject requests in the leads service (issue 15): a person's leads are found from their converted contact and
// from their e-mail, exported with their engagements, and erased (personal fields blanked, the rest kept), once per
// request id, in their tenant only; the service's SubjectDataService refuses bad subjects and other roles.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "../support/harness.hpp"
#include "../support/leads_client.hpp"
#include "../support/subject_data.hpp"
#include "../support/wait.hpp"
#include "crm/common/sealed_columns.hpp"

using namespace crm::test;

namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

std::map<std::string, long> Counts(const google::protobuf::RepeatedPtrField<pv1::RecordCount>& records) {
    std::map<std::string, long> out;
    for (const auto& r : records) out[r.resource_type()] = r.count();
    return out;
}

// The export's records of one type, parsed.
const nlohmann::json& RecordWithId(const nlohmann::json& records, const std::string& id) {
    for (const auto& r : records) {
        if (r.value("id", "") == id) return r;
    }
    FAIL("no record " << id);
    return records;
}

// EraseSubject, asked again while the lead's events wait for the broker (UNAVAILABLE).
grpc::Status EraseWhenRelayed(SubjectDataClient& client, const pv1::EraseSubjectRequest& req,
                              pv1::EraseSubjectResponse* resp) {
    grpc::Status status;
    Eventually([&] {
        resp->Clear();
        status = client.EraseSubject(req, resp);
        return status.error_code() != grpc::StatusCode::UNAVAILABLE;
    });
    return status;
}

}  // namespace

TEST_CASE("leads subject data: a converted person's leads are resolved, exported and erased in their tenant only",
          "[integration][leads][subject_data]") {
    const std::string tenant = UniqueTenant("dsr");
    const std::string other = UniqueTenant("dsr");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string email = "ada." + uniq + "@example.com";
    const std::string family = "Lovelace" + uniq;
    const std::string note = "met at the engine demo " + uniq;
    const std::string detail = "asked about the analytical engine " + uniq;
    LeadsClient leads(TokenFor(tenant));
    LeadsClient other_leads(TokenFor(other));
    SubjectDataClient officer("CRM_TEST_LEADS", tenant);
    SubjectDataClient other_officer("CRM_TEST_LEADS", other);

    // The person: a lead with every personal field (the e-mail given in mixed case), an engagement, converted; then a
    // second lead with the same address (allowed once the first is converted). Another tenant has a lead with the
    // same address.
    lv1::CreateLeadRequest create;
    auto* l = create.mutable_lead();
    l->set_given_name("Ada");
    l->set_family_name(family);
    l->set_email("Ada." + uniq + "@Example.COM");
    l->set_phone("+44 20 7946 0018");
    l->set_company_name("Engine Works " + uniq);
    l->set_job_title("Analyst " + uniq);
    l->set_country("GB");
    l->set_region("London " + uniq);
    l->set_source("referral");
    l->set_campaign_id("cmp-" + uniq);
    l->set_notes(note);
    (*l->mutable_attributes())["industry"] = "computing " + uniq;
    const auto created = leads.CreateLead(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const lv1::Lead first = created.response.lead();
    REQUIRE(first.email() == email);
    lv1::RecordEngagementRequest engagement;
    engagement.set_lead_id(first.id());
    engagement.mutable_engagement()->set_type("call");
    engagement.mutable_engagement()->set_direction(lv1::ENGAGEMENT_DIRECTION_OUTBOUND);
    engagement.mutable_engagement()->set_detail(detail);
    REQUIRE(leads.RecordEngagement(engagement).ok());
    leads.MustMove(first.id(), {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_QUALIFIED});
    lv1::ConvertLeadRequest convert;
    convert.set_id(first.id());
    const auto converted = leads.ConvertLead(convert);
    INFO(converted.status.error_message());
    REQUIRE(converted.ok());
    const lv1::Lead before = converted.response.lead();
    const std::string contact = before.conversion().contact_id();
    REQUIRE(crm::common::IsUuid(contact));
    const lv1::Lead second = leads.MustCreate("Augusta", email);
    const lv1::Lead foreign = other_leads.MustCreate("Someone", email);
    const std::string engagements = QueryScalar(
        "leads", "SELECT count(*) FROM lead_engagements WHERE tenant_id = '" + tenant + "' AND detail <> ''");

    SECTION("resolve from the contact id and from the e-mail") {
        pv1::ResolveSubjectRequest req;
        *req.mutable_subject() = MakeSubject({contact}, {}, {});
        pv1::ResolveSubjectResponse from_contact;
        REQUIRE(officer.ResolveSubject(req, &from_contact).ok());
        CHECK(from_contact.service() == "leads");
        CHECK(Contains(from_contact.subject().lead_ids(), first.id()));
        CHECK(Contains(from_contact.subject().emails(), email));
        CHECK_FALSE(Contains(from_contact.subject().lead_ids(), foreign.id()));
        // The next round (the gateway's, until nothing is added) reaches the second lead through the e-mail.
        *req.mutable_subject() = from_contact.subject();
        pv1::ResolveSubjectResponse next;
        REQUIRE(officer.ResolveSubject(req, &next).ok());
        CHECK(Contains(next.subject().lead_ids(), second.id()));

        *req.mutable_subject() = MakeSubject({}, {}, {email});
        pv1::ResolveSubjectResponse from_email;
        REQUIRE(officer.ResolveSubject(req, &from_email).ok());
        CHECK(Contains(from_email.subject().lead_ids(), first.id()));
        CHECK(Contains(from_email.subject().lead_ids(), second.id()));
        CHECK(Contains(from_email.subject().contact_ids(), contact));
        CHECK(from_email.subject().lead_ids_size() == 2);
        CHECK_FALSE(Contains(from_email.subject().lead_ids(), foreign.id()));
    }

    SECTION("export, erase once per request id, keep what is not personal, in the tenant only") {
        const pv1::Subject subject = MakeSubject({contact}, {first.id(), second.id()}, {email});
        pv1::ExportSubjectRequest ex;
        *ex.mutable_subject() = subject;
        pv1::ExportSubjectResponse exported;
        REQUIRE(officer.ExportSubject(ex, &exported).ok());
        const auto lead_rows = Records(exported, "lead");
        REQUIRE(lead_rows.size() == 2);
        const auto& row = RecordWithId(lead_rows, first.id());
        CHECK(row.at("given_name") == "Ada");
        CHECK(row.at("family_name") == family);
        CHECK(row.at("email") == email);
        CHECK(row.at("phone") == "+44 20 7946 0018");
        CHECK(row.at("notes") == note);
        CHECK(row.at("attributes").at("industry") == "computing " + uniq);
        CHECK(row.at("contact_id") == contact);
        CHECK(row.at("status") == "CONVERTED");
        CHECK_FALSE(row.contains("tenant_id"));
        const auto engagement_rows = Records(exported, "lead_engagement");
        CHECK(std::any_of(engagement_rows.begin(), engagement_rows.end(),
                          [&](const nlohmann::json& e) { return e.value("detail", "") == detail; }));
        // Another tenant's officer finds only their own lead with that address.
        pv1::ExportSubjectResponse foreign_export;
        REQUIRE(other_officer.ExportSubject(ex, &foreign_export).ok());
        const auto foreign_rows = Records(foreign_export, "lead");
        REQUIRE(foreign_rows.size() == 1);
        CHECK(foreign_rows[0].at("id") == foreign.id());

        // Before the erasure the scan finds none of the person's values in clear: the leads' personal columns, their
        // attributes' values and the engagements' details are sealed at rest (migrations 0007, 0008) under the leads'
        // data keys, which the erasure destroys (checked below: the keys are there, then gone). The export above
        // opened them, so they are there.
        CHECK(ColumnsContaining("leads", {family, "computing " + uniq, detail}, {}, tenant).empty());
        CHECK(QueryScalar("leads", "SELECT count(*) FROM lead_engagements WHERE tenant_id = '" + tenant +
                                       "' AND detail LIKE 'pv1.%'") == engagements);
        const std::string keys_sql = "SELECT count(*) FROM crm_subject_keys WHERE tenant_id = '" + tenant +
                                     "' AND subject_id IN ('" + first.id() + "', '" + second.id() + "')";
        CHECK(QueryScalar("leads", keys_sql) == "2");

        pv1::EraseSubjectRequest erase;
        erase.set_request_id("erase-" + uniq);
        *erase.mutable_subject() = subject;
        pv1::EraseSubjectResponse erased;
        const grpc::Status status = EraseWhenRelayed(officer, erase, &erased);
        INFO(status.error_message());
        REQUIRE(status.ok());
        const auto counts = Counts(erased.records());
        CHECK(counts.at("lead") == 2);
        CHECK(counts.at("lead_engagement") == std::stol(engagements));
        CHECK(std::stol(engagements) >= 1);

        // Nothing of the person's values is left in the database (its relayed outbox rows purged too).
        for (const std::string& needle : {family, note, detail, "Engine Works " + uniq, "computing " + uniq}) {
            INFO(needle);
            CHECK(ColumnsContaining("leads", needle).empty());
        }
        // The e-mail stays only in the other tenant's lead and that lead's events.
        for (const auto& where : ColumnsContaining("leads", email)) {
            INFO(where);
            CHECK((where.rfind("leads.email ", 0) == 0 || where.rfind("crm_outbox.", 0) == 0));
        }
        CHECK(QueryScalar("leads", "SELECT count(*) FROM leads WHERE email_index = '" +
                                       crm::common::ColumnIndex(other, "leads.email", email) + "'") == "1");
        CHECK(QueryScalar("leads", "SELECT count(*) FROM leads WHERE tenant_id = '" + tenant +
                                       "' AND email_index <> ''") == "0");
        CHECK(QueryScalar("leads", keys_sql) == "0");

        // What is not personal stays.
        lv1::GetLeadRequest get;
        get.set_id(first.id());
        const auto after = leads.GetLead(get);
        REQUIRE(after.ok());
        const lv1::Lead& kept = after.response.lead();
        CHECK(kept.given_name().empty());
        CHECK(kept.family_name().empty());
        CHECK(kept.email().empty());
        CHECK(kept.phone().empty());
        CHECK(kept.company_name().empty());
        CHECK(kept.job_title().empty());
        CHECK(kept.region().empty());
        CHECK(kept.notes().empty());
        CHECK(kept.attributes().empty());
        CHECK(kept.status() == lv1::LEAD_STATUS_CONVERTED);
        CHECK(kept.score() == before.score());
        CHECK(kept.source() == "referral");
        CHECK(kept.campaign_id() == "cmp-" + uniq);
        CHECK(kept.country() == "GB");
        CHECK(kept.conversion().contact_id() == contact);
        CHECK(kept.create_time().seconds() == before.create_time().seconds());
        CHECK(kept.version() == before.version());

        // The same request again answers the same; another request finds nothing left.
        pv1::EraseSubjectResponse again;
        REQUIRE(officer.EraseSubject(erase, &again).ok());
        CHECK(Counts(again.records()) == counts);
        CHECK(again.erase_time().seconds() == erased.erase_time().seconds());
        erase.set_request_id("erase-again-" + uniq);
        pv1::EraseSubjectResponse second_erasure;
        REQUIRE(EraseWhenRelayed(officer, erase, &second_erasure).ok());
        for (const auto& [type, n] : Counts(second_erasure.records())) {
            INFO(type);
            CHECK(n == 0);
        }

        // Blanked e-mails pass the duplicate check: a new open lead with the address is a new lead.
        const lv1::Lead fresh = leads.MustCreate("Ada", email);
        CHECK(fresh.id() != second.id());

        // The other tenant's lead is untouched.
        get.set_id(foreign.id());
        const auto untouched = other_leads.GetLead(get);
        REQUIRE(untouched.ok());
        CHECK(untouched.response.lead().email() == email);
        CHECK(untouched.response.lead().given_name() == "Someone");
        // An erasure asked in one tenant with another tenant's lead id changes nothing there.
        pv1::EraseSubjectRequest cross;
        cross.set_request_id("cross-" + uniq);
        *cross.mutable_subject() = MakeSubject({}, {foreign.id()}, {});
        pv1::EraseSubjectResponse cross_erased;
        REQUIRE(EraseWhenRelayed(officer, cross, &cross_erased).ok());
        CHECK(Counts(cross_erased.records()).at("lead") == 0);
        REQUIRE(other_leads.GetLead(get).ok());
        CHECK(other_leads.GetLead(get).response.lead().given_name() == "Someone");
    }
}

TEST_CASE("leads subject data: bad subjects and other roles are refused", "[integration][leads][subject_data]") {
    const std::string tenant = UniqueTenant("dsr");
    SubjectDataClient officer("CRM_TEST_LEADS", tenant);
    pv1::ExportSubjectRequest req;
    pv1::ExportSubjectResponse resp;

    *req.mutable_subject() = MakeSubject({"not-a-uuid"}, {}, {});
    auto status = officer.ExportSubject(req, &resp);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "subject.contact_ids[0]"));

    *req.mutable_subject() = MakeSubject({}, {"123"}, {});
    status = officer.ExportSubject(req, &resp);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "subject.lead_ids[0]"));

    *req.mutable_subject() = MakeSubject({}, {}, {"Ada@Example.com"});
    status = officer.ExportSubject(req, &resp);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "subject.emails[0]"));

    req.clear_subject();
    status = officer.ExportSubject(req, &resp);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "subject"));

    pv1::EraseSubjectRequest erase;
    *erase.mutable_subject() = MakeSubject({}, {}, {"ada@example.com"});
    pv1::EraseSubjectResponse erased;
    status = officer.EraseSubject(erase, &erased);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "request_id"));

    SubjectDataClient rep("CRM_TEST_LEADS", tenant, {"sales_rep"});
    *req.mutable_subject() = MakeSubject({}, {}, {"ada@example.com"});
    CHECK(rep.ExportSubject(req, &resp).error_code() == grpc::StatusCode::PERMISSION_DENIED);
    erase.set_request_id("rep-erase");
    CHECK(rep.EraseSubject(erase, &erased).error_code() == grpc::StatusCode::PERMISSION_DENIED);
    pv1::ResolveSubjectRequest resolve;
    *resolve.mutable_subject() = MakeSubject({}, {}, {"ada@example.com"});
    pv1::ResolveSubjectResponse resolved;
    CHECK(rep.ResolveSubject(resolve, &resolved).error_code() == grpc::StatusCode::PERMISSION_DENIED);
}
