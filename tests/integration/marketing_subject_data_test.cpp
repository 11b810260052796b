// Data-subject requests in marketing (services/marketing/src/subject_data/): a person known as a campaign's web-form
// lead and as a contact who was mailed (the address bounced hard: suppressed) is resolved from an id or the address,
// exported and erased: the audience rows go (the campaign's lead stays as an anonymous row), touches stay as
// anonymous counts, the address leaves the messages, and the suppression stays as a keyed hash, so that a new contact
// with the same address is still skipped by the next send; GetCampaignPerformance counts are unchanged. A repeated
// request id returns the first counts, a new one changes nothing, another tenant's person is untouched; bad input and
// roles. The statements are index-backed as the app role.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/explain.hpp"
#include "../support/leads_client.hpp"
#include "../support/marketing_client.hpp"
#include "../support/subject_data.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/sealed_columns.hpp"
#include "subject_data/sql.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

// A contact who opted in, present in marketing's audience with that consent.
cv1::Contact OptedIn(ContactsClient& contacts, MarketingClient& api, const std::string& family,
                     const std::string& email) {
    cv1::Contact c = contacts.MustCreate("Mara", family, email);
    cv1::UpdateContactConsentRequest req;
    req.set_id(c.id());
    req.set_status(cv1::CONSENT_STATUS_OPTED_IN);
    req.set_source("web_form");
    REQUIRE(contacts.UpdateContactConsent(req).ok());
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(c.id());
        auto r = api.GetAudienceMember(get);
        return r.ok() && r.response.member().consent() == "opted_in";
    }));
    return c;
}

// A lead through the campaign's web form (leads' API): a form_submitted touch of the campaign in marketing.
std::string FormLead(LeadsClient& leads, MarketingClient& api, const std::string& tenant, const std::string& campaign,
                     const std::string& family, const std::string& email) {
    lv1::UpsertWebFormRequest form_def;
    auto* f = form_def.mutable_web_form();
    f->set_id("dsr-form");
    f->set_name("Sign-up");
    (*f->mutable_field_mapping())["first"] = "given_name";
    (*f->mutable_field_mapping())["last"] = "family_name";
    (*f->mutable_field_mapping())["mail"] = "email";
    f->set_default_source("website");
    f->set_default_campaign_id(campaign);
    f->set_consent_text("Send me news");
    f->set_consent_version("1");
    f->set_min_fill_seconds(1);
    auto upserted = leads.UpsertWebForm(form_def);
    INFO(upserted.status.error_message());
    REQUIRE(upserted.ok());
    LeadsClient form(SignedIdentity(tenant, {"web_form"}), DirectChannel("CRM_TEST_LEADS"));
    lv1::IssueWebFormTokenRequest issue;
    issue.set_form_id("dsr-form");
    auto form_token = form.IssueWebFormToken(issue);
    REQUIRE(form_token.ok());
    std::this_thread::sleep_for(1100ms);
    lv1::SubmitWebFormRequest submit;
    submit.set_form_id("dsr-form");
    submit.set_form_token(form_token.response.form_token());
    (*submit.mutable_fields())["first"] = "Mara";
    (*submit.mutable_fields())["last"] = family;
    (*submit.mutable_fields())["mail"] = email;
    submit.set_consent_granted(true);
    submit.set_consent_text("Send me news");
    submit.set_consent_version("1");
    auto submitted = form.SubmitWebForm(submit);
    INFO(submitted.status.error_message());
    REQUIRE(submitted.ok());
    const std::string id = submitted.response.lead_id();
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest member;
        member.set_id(id);
        auto r = api.GetAudienceMember(member);
        return r.ok() && r.response.touches_size() == 1;
    }));
    return id;
}

mv1::EmailSend WaitForSend(MarketingClient& api, const std::string& id) {
    mv1::EmailSend send;
    REQUIRE(Eventually(
        [&] {
            mv1::GetEmailSendRequest get;
            get.set_id(id);
            auto r = api.GetEmailSend(get);
            send = r.response.send();
            return r.ok() && send.status() == mv1::EMAIL_SEND_STATUS_COMPLETED;
        },
        30s));
    return send;
}

std::string Performance(MarketingClient& api, const std::string& campaign) {
    mv1::GetCampaignPerformanceRequest req;
    req.set_campaign_id(campaign);
    auto r = api.GetCampaignPerformance(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.DebugString();
}

std::map<std::string, std::int64_t> Counts(const pv1::EraseSubjectResponse& r) {
    std::map<std::string, std::int64_t> out;
    for (const auto& c : r.records()) out[c.resource_type()] = c.count();
    return out;
}

}  // namespace

TEST_CASE("marketing subject data: a lead and contact are resolved, exported and erased - the suppression stays",
          "[integration][marketing][subject_data]") {
    const std::string tenant = UniqueTenant("mdsr");
    const std::string other_tenant = UniqueTenant("mdsro");
    const std::string token = TokenFor(tenant, {"admin"});
    ContactsClient contacts(token);
    MarketingClient api(token);
    LeadsClient leads(token);
    const std::string tag = "Zm" + crm::common::NewUuid().substr(0, 8);
    const std::string email = "m-" + crm::common::NewUuid().substr(0, 8) + "@bounce.invalid";

    const mv1::Campaign campaign = api.MustCreateCampaign("Autumn offers");
    const std::string lead = FormLead(leads, api, tenant, campaign.id(), tag, email);
    const cv1::Contact contact = OptedIn(contacts, api, tag, email);
    // A message of the campaign to the contact: the address bounces hard and is suppressed.
    const mv1::EmailSend bounced = WaitForSend(
        api, api.MustSendTo(campaign.id(), contact.id(), "Offer", "Hi {{contact.given_name}}", "", "Hello"));
    REQUIRE(bounced.bounced() == 1);
    REQUIRE(QueryScalar("marketing",
                        "SELECT reason FROM suppressions WHERE tenant_id = '" + tenant + "' AND address_key = '" +
                            crm::common::ColumnIndex(tenant, "audience.email", email) + "'") == "hard_bounce");
    // At rest the person's values are sealed (audience, messages) or a blind index (suppression): never in clear.
    CHECK(ColumnsContaining("marketing", tag).empty());
    CHECK(ColumnsContaining("marketing", email).empty());
    const std::string before = Performance(api, campaign.id());
    // Another tenant's person with the same address.
    ContactsClient other_contacts(TokenFor(other_tenant, {"admin"}));
    MarketingClient other_api(TokenFor(other_tenant, {"admin"}));
    const cv1::Contact foreign = OptedIn(other_contacts, other_api, "Other", email);

    SubjectDataClient subjects("CRM_TEST_MARKETING", tenant);
    const pv1::Subject subject = MakeSubject({contact.id()}, {lead}, {email});

    SECTION("resolve, export, erase, repeat - a new person with the address is still skipped") {
        pv1::ResolveSubjectRequest rq;
        pv1::ResolveSubjectResponse resolved;
        *rq.mutable_subject() = MakeSubject({contact.id()}, {}, {});
        REQUIRE(subjects.ResolveSubject(rq, &resolved).ok());
        CHECK(resolved.service() == "marketing");
        CHECK(std::vector<std::string>(resolved.subject().emails().begin(), resolved.subject().emails().end()) ==
              std::vector<std::string>{email});
        *rq.mutable_subject() = MakeSubject({}, {}, {email});
        REQUIRE(subjects.ResolveSubject(rq, &resolved).ok());
        CHECK(std::vector<std::string>(resolved.subject().contact_ids().begin(),
                                       resolved.subject().contact_ids().end()) ==
              std::vector<std::string>{contact.id()});
        CHECK(std::vector<std::string>(resolved.subject().lead_ids().begin(), resolved.subject().lead_ids().end()) ==
              std::vector<std::string>{lead});

        pv1::ExportSubjectRequest ex;
        *ex.mutable_subject() = subject;
        pv1::ExportSubjectResponse exported;
        REQUIRE(subjects.ExportSubject(ex, &exported).ok());
        CHECK(exported.service() == "marketing");
        const auto people = Records(exported, "audience_member");
        REQUIRE(people.size() == 2);
        for (const auto& p : people) {
            CHECK(p["family_name"] == tag);
            CHECK(p["email"] == email);
        }
        const auto touches = Records(exported, "engagement");
        REQUIRE(touches.size() == 1);
        CHECK(touches[0]["type"] == "form_submitted");
        CHECK(touches[0]["person_id"] == lead);
        const auto messages = Records(exported, "email_recipient");
        REQUIRE(messages.size() == 1);
        CHECK(messages[0]["email"] == email);
        CHECK(messages[0]["status"] == "bounced");
        const auto suppressions = Records(exported, "suppression");
        REQUIRE(suppressions.size() == 1);
        CHECK(suppressions[0]["email"] == email);
        CHECK(suppressions[0]["reason"] == "hard_bounce");
        CHECK(Records(exported, "sequence_enrolment").empty());

        const auto first = MustErase(subjects, subject, "erase-1");
        CHECK(Counts(first) == std::map<std::string, std::int64_t>{{"engagement", 1},
                                                                   {"email_recipient", 1},
                                                                   {"sequence_enrolment", 0},
                                                                   {"suppression", 0},
                                                                   {"audience_member", 2}});
        // Nothing of the person is left; the address only in the other tenant's audience (sealed, its own index).
        CHECK(ColumnsContaining("marketing", tag).empty());
        CHECK(ColumnsContaining("marketing", email).empty());
        CHECK(QueryScalar("marketing", "SELECT count(*) FROM audience WHERE tenant_id = '" + tenant +
                                           "' AND email_index = '" +
                                           crm::common::ColumnIndex(tenant, "audience.email", email) + "'") == "0");
        CHECK(QueryScalar("marketing", "SELECT tenant_id FROM audience WHERE email_index = '" +
                                           crm::common::ColumnIndex(other_tenant, "audience.email", email) + "'") ==
              other_tenant);
        // The suppression stays, as the address's blind index; the campaign's counts (the lead, the touch, the
        // bounce) stay.
        CHECK(QueryScalar("marketing",
                          "SELECT reason FROM suppressions WHERE tenant_id = '" + tenant + "' AND address_key = '" +
                              crm::common::ColumnIndex(tenant, "audience.email", email) + "'") == "hard_bounce");
        CHECK(Performance(api, campaign.id()) == before);
        mv1::GetAudienceMemberRequest get;
        get.set_id(lead);
        CHECK(api.GetAudienceMember(get).status.error_code() == grpc::StatusCode::NOT_FOUND);
        get.set_id(contact.id());
        CHECK(api.GetAudienceMember(get).status.error_code() == grpc::StatusCode::NOT_FOUND);

        // The same request id: the first counts; a new one: nothing left.
        CHECK(Counts(MustErase(subjects, subject, "erase-1")) == Counts(first));
        for (const auto& [type, n] : Counts(MustErase(subjects, subject, "erase-2"))) CHECK(n == 0);

        // The other tenant's person is untouched.
        SubjectDataClient theirs("CRM_TEST_MARKETING", other_tenant);
        pv1::ExportSubjectResponse their_export;
        *ex.mutable_subject() = MakeSubject({}, {}, {email});
        REQUIRE(theirs.ExportSubject(ex, &their_export).ok());
        const auto their_people = Records(their_export, "audience_member");
        REQUIRE(their_people.size() == 1);
        CHECK(their_people[0]["id"] == foreign.id());
        CHECK(their_people[0]["family_name"] == "Other");

        // The contacts service erases its contact too (as the suite's request does); a new contact with the same
        // address who opts in is still skipped by the next send.
        cv1::EraseContactRequest erase;
        erase.set_id(contact.id());
        REQUIRE(contacts.EraseContact(erase).ok());
        const cv1::Contact again = OptedIn(contacts, api, "Again", email);
        const mv1::EmailSend skipped =
            WaitForSend(api, api.MustSendTo(campaign.id(), again.id(), "Offer 2", "Hi", "", "Hello again"));
        CHECK(skipped.recipients() == 0);
        CHECK(skipped.skipped() == 1);
        CHECK(skipped.bounced() == 0);
    }

    SECTION("bad input names the field - roles other than privacy_officer or admin are refused") {
        pv1::ResolveSubjectRequest rq;
        pv1::ResolveSubjectResponse out;
        *rq.mutable_subject() = MakeSubject({}, {"not-a-uuid"}, {});
        auto s = subjects.ResolveSubject(rq, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject.lead_ids[0]"));
        *rq.mutable_subject() = MakeSubject({}, {}, {"Mara@Example.com"});
        s = subjects.ResolveSubject(rq, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject.emails[0]"));
        rq.clear_subject();
        s = subjects.ResolveSubject(rq, &out);
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, "subject"));
        SubjectDataClient rep("CRM_TEST_MARKETING", tenant, {"sales_rep"});
        pv1::EraseSubjectRequest er;
        pv1::EraseSubjectResponse erased;
        er.set_request_id("by-a-rep");
        *er.mutable_subject() = subject;
        CHECK(rep.EraseSubject(er, &erased).error_code() == grpc::StatusCode::PERMISSION_DENIED);
        mv1::GetAudienceMemberRequest get;
        get.set_id(contact.id());
        CHECK(api.GetAudienceMember(get).response.member().family_name() == tag);
    }
}

TEST_CASE("marketing subject data: the statements are index-backed as the app role at scale",
          "[integration][marketing][subject_data][explain]") {
    const std::string tenant = UniqueTenant("mdsx");
    const std::string person = crm::common::NewUuid();
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // 100,000 people (half leads converted to the other half's contacts), 100,000 engagements, 100,000 messages,
        // 10,000 suppressions, 100,000 enrolments.
        // Addresses as the service stores them: a sealed value (here a stand-in) and a blind index (64 hex).
        tx.exec(
            "INSERT INTO audience (tenant_id, id, kind, email, email_index, contact_id, source_version, create_time) "
            "SELECT " +
            t +
            ", md5('p' || g)::uuid, CASE WHEN g % 2 = 0 THEN 'contact' ELSE 'lead' END, "
            "'pv1.p' || g, md5('i' || g) || md5('j' || g), CASE WHEN g % 2 = 1 THEN md5('p' || (g + 1))::uuid END, "
            "1, now() FROM generate_series(1, 100000) g");
        tx.exec("INSERT INTO engagements (tenant_id, id, person_id, type, occur_time) SELECT " + t +
                ", gen_random_uuid(), md5('p' || g % 100000)::uuid, 'visit', now() FROM generate_series(1, 100000) g");
        tx.exec("INSERT INTO campaigns (tenant_id, id, name, type, utm_campaign) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000000c', 'Seeded', 'EMAIL', 'seeded')");
        tx.exec("INSERT INTO email_templates (tenant_id, id, name, subject, text_body) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000000e', 'T', 'S', 'B')");
        tx.exec("INSERT INTO segments (tenant_id, id, name, type) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000005e', 'L', 'STATIC')");
        tx.exec(
            "INSERT INTO email_sends (tenant_id, id, campaign_id, template_id, segment_id, status, schedule_time) "
            "SELECT " +
            t +
            ", md5('s' || g)::uuid, '00000000-0000-0000-0000-00000000000c', "
            "'00000000-0000-0000-0000-00000000000e', '00000000-0000-0000-0000-00000000005e', 'COMPLETED', now() "
            "FROM generate_series(1, 10) g");
        tx.exec("INSERT INTO email_recipients (tenant_id, send_id, person_id, email, email_index, status) SELECT " + t +
                ", md5('s' || (1 + g % 10))::uuid, md5('p' || g)::uuid, 'pv1.p' || g, md5('i' || g) || md5('j' || g), "
                "'sent' FROM generate_series(1, 100000) g");
        tx.exec("INSERT INTO suppressions (tenant_id, address_key, reason) SELECT " + t +
                ", md5('i' || g) || md5('j' || g), 'unsubscribed' FROM generate_series(1, 10000) g");
        tx.exec("INSERT INTO sequences (tenant_id, id, name, status, trigger_type) VALUES (" + t +
                ", '00000000-0000-0000-0000-0000000000aa', 'S', 'ACTIVE', 'CONTACT_CREATED')");
        tx.exec("INSERT INTO sequence_versions (tenant_id, sequence_id, version, definition) VALUES (" + t +
                ", '00000000-0000-0000-0000-0000000000aa', 1, '{}')");
        tx.exec(
            "INSERT INTO sequence_enrolments (tenant_id, id, sequence_id, sequence_version, person_id, "
            "trigger_event_id, status) SELECT " +
            t +
            ", gen_random_uuid(), "
            "'00000000-0000-0000-0000-0000000000aa', 1, md5('p' || g)::uuid, gen_random_uuid(), 'completed' "
            "FROM generate_series(1, 100000) g");
        for (const char* table : {"audience", "engagements", "email_recipients", "suppressions", "sequence_enrolments",
                                  "segment_members"}) {
            tx.exec(std::string("ANALYZE ") + table);
        }
        tx.commit();
    }
    namespace sql = crm::marketing::subject_data::sql;
    const std::string t = "'" + tenant + "'";
    const std::string ids = "'{" + person + ",00000000-0000-0000-0000-000000000000}'";
    const std::string seven = QueryScalar("marketing", "SELECT md5('i7') || md5('j7')");  // p7's index
    struct Query {
        const crm::common::Sql& statement;
        std::string args;
        const char* index;
    };
    const Query queries[] = {
        {sql::kPeople, t + ", " + ids + ", '{" + seven + "}'", "audience_email_index"},
        {sql::kLinked, t + ", " + ids, "audience_pkey"},
        {sql::kExportPeople, t + ", " + ids, "audience_pkey"},
        {sql::kExportEngagements, t + ", " + ids, "engagements_person"},
        {sql::kExportRecipients, t + ", " + ids, "email_recipients_person"},
        {sql::kExportEnrolments, t + ", " + ids, "sequence_enrolments_person"},
        {sql::kCountEnrolments, t + ", " + ids, "sequence_enrolments_person"},
        {sql::kAddresses, t + ", " + ids, "audience_pkey"},
        {sql::kExportSuppressions, t + ", '{" + seven + ",hmac-sha256:00}'", "suppressions_pkey"},
    };
    for (const auto& q : queries) {
        const QueryPlan plan = ExplainAs(conn, "marketing_app", tenant, q.statement.text, q.args);
        INFO(q.statement.name << " (" << plan.ms << " ms): " << plan.text);
        // Either of the person's engagement indexes serves engagements_person's case.
        CHECK((plan.Uses(q.index) ||
               (std::string(q.index) == "engagements_person" && plan.Uses("engagements_person_time"))));
        for (const char* table :
             {"audience", "engagements", "email_recipients", "suppressions", "sequence_enrolments"}) {
            CHECK_FALSE(plan.Has(std::string("Seq Scan ") + table));
        }
    }
    // The seeded rows go (children first) and the statistics are taken again, so that other tests' plans are made
    // on the tables as they were.
    pqxx::work cleanup(conn);
    for (const char* table :
         {"sequence_enrolments", "sequence_versions", "sequences", "email_recipients", "email_sends", "segments",
          "email_templates", "campaigns", "suppressions", "engagements", "audience"}) {
        cleanup.exec(std::string("DELETE FROM ") + table + " WHERE tenant_id = " + cleanup.quote(tenant));
    }
    for (const char* table :
         {"sequence_enrolments", "sequence_versions", "sequences", "email_recipients", "email_sends", "segments",
          "email_templates", "campaigns", "suppressions", "engagements", "audience"})
        cleanup.exec(std::string("ANALYZE ") + table);
    cleanup.commit();
}
