// Encryption at rest of the leads' personal columns (issue 15; migration 0007, services/leads/README.md): what the
// database owner sees of a lead (sealed values and blind indexes, never the clear ones), the duplicate check by the
// e-mail's blind index, the backfill of rows written before (a second leads process seals them before it serves)
// and an erased lead's data key destroyed (its sealed bytes, in a backup, open nowhere).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>

#include "../support/child_service.hpp"
#include "../support/harness.hpp"
#include "../support/leads_client.hpp"
#include "../support/subject_data.hpp"
#include "../support/wait.hpp"
#include "crm/common/sealed_columns.hpp"

using namespace crm::test;

namespace {

// The personal columns and indexes of one lead as the database owner reads them (all tenants: no row-level security).
struct StoredLead {
    std::map<std::string, std::string> columns;
    bool found = false;
};

constexpr const char* kSealedColumns[] = {"given_name", "family_name", "email", "phone",         "company_name",
                                          "job_title",  "region",      "notes", "status_reason", "consent_text"};

StoredLead Stored(const std::string& tenant, const std::string& id) {
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
    pqxx::nontransaction tx(conn);
    std::string sql = "SELECT email_index, phone_index";
    for (const char* c : kSealedColumns) sql += std::string(", ") + c;
    sql += " FROM leads WHERE tenant_id = " + tx.quote(tenant) + " AND id = " + tx.quote(id) + "::uuid";
    const pqxx::result r = tx.exec(sql);
    StoredLead out;
    if (r.empty()) return out;
    out.found = true;
    out.columns["email_index"] = r[0][0].c_str();
    out.columns["phone_index"] = r[0][1].c_str();
    int i = 2;
    for (const char* c : kSealedColumns) out.columns[c] = r[0][i++].c_str();
    return out;
}

bool IsHex64(const std::string& s) { return std::regex_match(s, std::regex("[0-9a-f]{64}")); }

std::map<std::string, std::string> LeadsProcessEnv(int grpc_port, int metrics_port) {
    auto env = ChildServiceEnv("leads", grpc_port, metrics_port);
    // Not a replica that takes work from the stack's leads service: no consumer (an empty list; "" would mean the
    // default topics), a slow SLA scan.
    env["CRM_LEADS_MARKETING_TOPICS"] = ",";
    env["CRM_LEADS_SLA_SCAN_INTERVAL_MS"] = "3600000";
    env["CRM_SHUTDOWN_GRACE_SECONDS"] = "2";
    return env;
}

}  // namespace

TEST_CASE("leads at rest: the owner sees sealed personal columns and blind indexes, the API the clear values",
          "[integration][leads][sealed]") {
    const std::string tenant = UniqueTenant("seal");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string email = "grace." + uniq + "@example.com";
    const std::string family = "Hopper" + uniq;
    const std::string note = "wants the compiler demo " + uniq;
    LeadsClient leads(TokenFor(tenant));

    lv1::CreateLeadRequest create;
    auto* l = create.mutable_lead();
    l->set_given_name("Grace" + uniq);
    l->set_family_name(family);
    l->set_email("Grace." + uniq + "@Example.COM");
    l->set_phone("+1 202 555 0147");
    l->set_company_name("Navy Labs " + uniq);
    l->set_job_title("Rear Admiral " + uniq);
    l->set_country("US");
    l->set_region("Virginia " + uniq);
    l->set_source("referral");
    l->set_notes(note);
    const auto created = leads.CreateLead(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const lv1::Lead lead = created.response.lead();
    CHECK(lead.email() == email);
    CHECK(lead.family_name() == family);
    CHECK(lead.notes() == note);

    // What PostgreSQL holds: "pv1." values, each different from its clear value, and 64-hex blind indexes equal to
    // the HMAC of the normalized value under the tenant's index key.
    const StoredLead stored = Stored(tenant, lead.id());
    REQUIRE(stored.found);
    for (const char* c :
         {"given_name", "family_name", "email", "phone", "company_name", "job_title", "region", "notes"}) {
        INFO(c << " = " << stored.columns.at(c));
        CHECK(stored.columns.at(c).rfind("pv1.", 0) == 0);
    }
    CHECK(stored.columns.at("status_reason").empty());
    CHECK(IsHex64(stored.columns.at("email_index")));
    CHECK(IsHex64(stored.columns.at("phone_index")));
    CHECK(stored.columns.at("email_index") == crm::common::ColumnIndex(tenant, "leads.email", email));
    CHECK(stored.columns.at("phone_index") == crm::common::ColumnIndex(tenant, "leads.phone", lead.phone()));
    // The same address in another tenant has an unrelated index.
    CHECK(crm::common::ColumnIndex(UniqueTenant("seal"), "leads.email", email) != stored.columns.at("email_index"));
    // No clear value anywhere in the leads table (nor in any other column of the tenant's leads).
    for (const auto& where :
         ColumnsContaining("leads", {email, family, note, "Navy Labs " + uniq, lead.phone()}, {}, tenant)) {
        INFO(where);
        CHECK(where.rfind("leads.", 0) != 0);
    }

    // The API opens them: get, list, and an update (sealed again) read back.
    lv1::GetLeadRequest get;
    get.set_id(lead.id());
    const auto got = leads.GetLead(get);
    REQUIRE(got.ok());
    CHECK(got.response.lead().given_name() == "Grace" + uniq);
    CHECK(got.response.lead().email() == email);
    CHECK(got.response.lead().phone() == lead.phone());
    CHECK(got.response.lead().company_name() == "Navy Labs " + uniq);
    CHECK(got.response.lead().job_title() == "Rear Admiral " + uniq);
    CHECK(got.response.lead().region() == "Virginia " + uniq);
    CHECK(got.response.lead().notes() == note);
    lv1::ListLeadsRequest list;
    const auto listed = leads.ListLeads(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.leads_size() == 1);
    CHECK(listed.response.leads(0).family_name() == family);

    lv1::ChangeLeadStatusRequest change;
    change.set_id(lead.id());
    change.set_status(lv1::LEAD_STATUS_UNQUALIFIED);
    change.set_reason("no budget " + uniq);
    const auto changed = leads.ChangeLeadStatus(change);
    INFO(changed.status.error_message());
    REQUIRE(changed.ok());
    CHECK(changed.response.lead().status_reason() == "no budget " + uniq);
    CHECK(changed.response.lead().email() == email);
    const StoredLead after = Stored(tenant, lead.id());
    CHECK(after.columns.at("status_reason").rfind("pv1.", 0) == 0);
    CHECK(after.columns.at("email").rfind("pv1.", 0) == 0);
    CHECK(after.columns.at("email") != stored.columns.at("email"));  // sealed afresh (a new nonce) on every write
    CHECK(after.columns.at("email_index") == stored.columns.at("email_index"));
}

TEST_CASE("leads at rest: a second open lead with one e-mail is refused through the blind index",
          "[integration][leads][sealed]") {
    const std::string tenant = UniqueTenant("seal");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string email = "dup." + uniq + "@example.com";
    LeadsClient leads(TokenFor(tenant));
    const lv1::Lead first = leads.MustCreate("First", email);

    lv1::CreateLeadRequest again;
    again.mutable_lead()->set_given_name("Second");
    again.mutable_lead()->set_email("  DUP." + uniq + "@Example.com ");
    const auto refused = leads.CreateLead(again);
    CHECK(refused.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorReason(refused.status) == "DUPLICATE_LEAD");
    CHECK(ErrorMetadata(refused.status, "existing_id") == first.id());

    // An update to that address is refused too; once the first is unqualified the address is free.
    const lv1::Lead other = leads.MustCreate("Other", "other." + uniq + "@example.com");
    lv1::UpdateLeadRequest update;
    update.mutable_lead()->set_id(other.id());
    update.mutable_lead()->set_email(email);
    update.mutable_update_mask()->add_paths("email");
    const auto moved = leads.UpdateLead(update);
    CHECK(moved.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorMetadata(moved.status, "existing_id") == first.id());
    leads.MustMove(first.id(), {lv1::LEAD_STATUS_UNQUALIFIED});
    const auto created = leads.CreateLead(again);
    INFO(created.status.error_message());
    CHECK(created.ok());
}

TEST_CASE("leads at rest: rows written before are sealed and indexed by a leads process before it serves",
          "[integration][leads][sealed][backfill]") {
    const std::string tenant = UniqueTenant("seal");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string email = "legacy." + uniq + "@example.com";
    const std::string note = "written before encryption at rest " + uniq;
    std::vector<std::string> ids;
    {
        // As the database owner, in the tenant (FORCEd row-level security), rows as the service wrote them before.
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
        pqxx::work tx(conn);
        tx.exec("SELECT set_config('crm.tenant_id', " + tx.quote(tenant) + ", true)");
        for (int i = 0; i < 3; ++i) {
            const std::string mail = i == 0 ? email : "legacy" + std::to_string(i) + "." + uniq + "@example.com";
            ids.push_back(tx.exec1("INSERT INTO leads (tenant_id, id, given_name, family_name, email, phone, notes) "
                                   "VALUES (" +
                                   tx.quote(tenant) + ", gen_random_uuid(), 'Old" + std::to_string(i) + "', 'Timer', " +
                                   tx.quote(mail) + ", '+4420794600" + std::to_string(10 + i) + "', " + tx.quote(note) +
                                   ") RETURNING id::text")[0]
                              .as<std::string>());
        }
        // Migration 0008's columns: a web form's mapped fields and an engagement's detail, in clear.
        tx.exec("UPDATE leads SET attributes = jsonb_build_object('industry', " + tx.quote("clinics " + uniq) +
                ", 'empty', '') WHERE tenant_id = " + tx.quote(tenant) + " AND id = " + tx.quote(ids[0]) + "::uuid");
        tx.exec("INSERT INTO lead_engagements (tenant_id, id, lead_id, type, direction, occur_time, detail) VALUES (" +
                tx.quote(tenant) + ", gen_random_uuid(), " + tx.quote(ids[0]) + "::uuid, 'call', 'OUTBOUND', now(), " +
                tx.quote("legacy call " + uniq) + ")");
        tx.commit();
    }
    REQUIRE(Stored(tenant, ids[0]).columns.at("email") == email);

    const int port = FreePort();
    const std::string address = "127.0.0.1:" + std::to_string(port);
    ChildProcess service(CRM_LEADS_BINARY, {}, LeadsProcessEnv(port, FreePort()), "/tmp/crm-leads-backfill.log");
    REQUIRE(WaitServing(address, std::chrono::seconds(60)));

    // Serving means the backfill ran: every row sealed and indexed.
    for (const auto& id : ids) {
        const StoredLead s = Stored(tenant, id);
        INFO(id);
        for (const char* c : {"given_name", "family_name", "email", "phone", "notes"}) {
            INFO(c << " = " << s.columns.at(c));
            CHECK(s.columns.at(c).rfind("pv1.", 0) == 0);
        }
        CHECK(IsHex64(s.columns.at("email_index")));
        CHECK(IsHex64(s.columns.at("phone_index")));
    }
    CHECK(Stored(tenant, ids[0]).columns.at("email_index") == crm::common::ColumnIndex(tenant, "leads.email", email));
    CHECK(ColumnsContaining("leads", note).empty());
    const nlohmann::json attributes =
        nlohmann::json::parse(QueryScalar("leads", "SELECT attributes::text FROM leads WHERE id = '" + ids[0] + "'"));
    CHECK(attributes.at("industry").get<std::string>().rfind("pv1.", 0) == 0);
    CHECK(attributes.at("empty") == "");
    CHECK(
        QueryScalar("leads", "SELECT detail FROM lead_engagements WHERE lead_id = '" + ids[0] + "'").rfind("pv1.", 0) ==
        0);
    CHECK(ColumnsContaining("leads", {"clinics " + uniq, "legacy call " + uniq}).empty());

    // Through that process: the lead reads clear, and its e-mail is found by the duplicate check.
    LeadsClient direct(SignedIdentity(tenant), grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    lv1::GetLeadRequest get;
    get.set_id(ids[0]);
    const auto got = direct.GetLead(get);
    INFO(got.status.error_message());
    REQUIRE(got.ok());
    CHECK(got.response.lead().email() == email);
    CHECK(got.response.lead().notes() == note);
    CHECK(got.response.lead().given_name() == "Old0");
    CHECK(got.response.lead().attributes().at("industry") == "clinics " + uniq);
    lv1::CreateLeadRequest dup;
    dup.mutable_lead()->set_given_name("Again");
    dup.mutable_lead()->set_email(email);
    const auto refused = direct.CreateLead(dup);
    CHECK(refused.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorMetadata(refused.status, "existing_id") == ids[0]);
}

TEST_CASE("leads at rest: an erased lead's data key is destroyed, so its sealed bytes open nowhere",
          "[integration][leads][sealed][subject_data]") {
    const std::string tenant = UniqueTenant("seal");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string email = "erased." + uniq + "@example.com";
    LeadsClient leads(TokenFor(tenant));
    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_given_name("Erin" + uniq);
    create.mutable_lead()->set_email(email);
    create.mutable_lead()->set_notes("private note " + uniq);
    const auto created = leads.CreateLead(create);
    REQUIRE(created.ok());
    const std::string id = created.response.lead().id();

    // A backup taken before the erasure: the sealed values, and the lead's wrapped key beside them.
    const StoredLead backup = Stored(tenant, id);
    REQUIRE(backup.columns.at("email").rfind("pv1.", 0) == 0);
    const std::string key_rows_sql =
        "SELECT count(*) FROM crm_subject_keys WHERE tenant_id = '" + tenant + "' AND subject_id = '" + id + "'";
    REQUIRE(QueryScalar("leads", key_rows_sql) == "1");

    SubjectDataClient officer("CRM_TEST_LEADS", tenant);
    MustErase(officer, MakeSubject({}, {}, {email}), "erase-" + uniq);

    // The key is gone: the backup's bytes are all that is left of the person, and no key opens them (a row whose
    // key is destroyed opens as "").
    CHECK(QueryScalar("leads", key_rows_sql) == "0");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
    pqxx::nontransaction tx(conn);
    const pqxx::row row = tx.exec1("SELECT " CRM_SUBJECT_KEY_COLUMN("l.tenant_id", "l.id::text") " FROM leads l "
                                   "WHERE l.tenant_id = " + tx.quote(tenant) + " AND l.id = " + tx.quote(id) + "::uuid");
    CHECK(row[0].is_null());
    const crm::common::ColumnKey key(tenant, id, row[0]);
    CHECK(key.Open("leads.email", backup.columns.at("email")).empty());
    CHECK(key.Open("leads.notes", backup.columns.at("notes")).empty());
    // The row itself keeps nothing personal: blanked, its indexes too.
    const StoredLead erased = Stored(tenant, id);
    for (const auto& [column, value] : erased.columns) {
        INFO(column << " = " << value);
        CHECK(value.empty());
    }
    CHECK(ColumnsContaining("leads", {email, "private note " + uniq}, {}, tenant).empty());
}

TEST_CASE("leads at rest: scoring rules on the e-mail's domain and the job title see the opened values",
          "[integration][leads][sealed]") {
    const std::string tenant = UniqueTenant("seal");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string domain = "bigcorp-" + uniq + ".example";
    LeadsClient leads(TokenFor(tenant));
    lv1::UpdateScoringRulesRequest rules;
    auto* set = rules.mutable_scoring_rules();
    auto* by_domain = set->add_rules();
    by_domain->set_name("target account");
    by_domain->mutable_attribute()->set_field("email_domain");
    by_domain->mutable_attribute()->set_operator_(lv1::CONDITION_OPERATOR_EQUALS);
    by_domain->mutable_attribute()->add_values(domain);
    by_domain->set_weight(25);
    auto* by_title = set->add_rules();
    by_title->set_name("decision maker");
    by_title->mutable_attribute()->set_field("job_title");
    by_title->mutable_attribute()->set_operator_(lv1::CONDITION_OPERATOR_CONTAINS);
    by_title->mutable_attribute()->add_values("director");
    by_title->set_weight(10);
    const auto stored = leads.UpdateScoringRules(rules);
    INFO(stored.status.error_message());
    REQUIRE(stored.ok());

    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_given_name("Dana");
    create.mutable_lead()->set_email("dana@" + domain);
    create.mutable_lead()->set_job_title("Sales Director");
    const auto created = leads.CreateLead(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    CHECK(created.response.lead().score() == 35);
    REQUIRE(Stored(tenant, created.response.lead().id()).columns.at("job_title").rfind("pv1.", 0) == 0);

    // An update re-scores the lead as read back from its sealed row: the same rules still match.
    lv1::UpdateLeadRequest update;
    update.mutable_lead()->set_id(created.response.lead().id());
    update.mutable_lead()->set_notes("call back next week");
    update.mutable_update_mask()->add_paths("notes");
    const auto updated = leads.UpdateLead(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.lead().score() == 35);
    CHECK(updated.response.lead().score_reasons_size() == 2);
}

TEST_CASE("leads at rest: a web form's mapped fields and an engagement's detail are sealed value by value",
          "[integration][leads][sealed]") {
    const std::string tenant = UniqueTenant("seal");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    LeadsClient leads(TokenFor(tenant));
    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_given_name("Mapped");
    create.mutable_lead()->set_email("mapped." + uniq + "@example.com");
    (*create.mutable_lead()->mutable_attributes())["clinic_name"] = "Saint Jude " + uniq;
    (*create.mutable_lead()->mutable_attributes())["seats"] = "12";
    const auto created = leads.CreateLead(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const std::string id = created.response.lead().id();
    CHECK(created.response.lead().attributes().at("clinic_name") == "Saint Jude " + uniq);

    // The keys stay clear (the tenant's field names), every value is sealed for its own key.
    const nlohmann::json stored =
        nlohmann::json::parse(QueryScalar("leads", "SELECT attributes::text FROM leads WHERE id = '" + id + "'"));
    REQUIRE(stored.size() == 2);
    const std::string clinic = stored.at("clinic_name").get<std::string>();
    const std::string seats = stored.at("seats").get<std::string>();
    CHECK(clinic.rfind("pv1.", 0) == 0);
    CHECK(seats.rfind("pv1.", 0) == 0);
    // A value moved under another key (or to another column) does not open: it is bound to its key.
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
    {
        pqxx::nontransaction tx(conn);
        const pqxx::row row = tx.exec1("SELECT " CRM_SUBJECT_KEY_COLUMN("l.tenant_id", "l.id::text") " FROM leads l "
                                       "WHERE l.id = " + tx.quote(id) + "::uuid");
        const crm::common::ColumnKey key(tenant, id, row[0]);
        CHECK(key.Open("leads.attributes.clinic_name", clinic) == "Saint Jude " + uniq);
        CHECK_THROWS(key.Open("leads.attributes.seats", clinic));
        CHECK_THROWS(key.Open("leads.notes", clinic));
        CHECK(nlohmann::json::parse(key.OpenObject("leads.attributes", stored.dump())).at("seats") == "12");
    }

    lv1::RecordEngagementRequest engagement;
    engagement.set_lead_id(id);
    engagement.set_request_id("engagement-" + uniq);
    engagement.mutable_engagement()->set_type("call");
    engagement.mutable_engagement()->set_direction(lv1::ENGAGEMENT_DIRECTION_OUTBOUND);
    engagement.mutable_engagement()->set_detail("asked about the clinic " + uniq);
    const auto recorded = leads.RecordEngagement(engagement);
    INFO(recorded.status.error_message());
    REQUIRE(recorded.ok());
    CHECK(recorded.response.engagement().detail() == "asked about the clinic " + uniq);
    CHECK(recorded.response.lead().attributes().at("clinic_name") == "Saint Jude " + uniq);
    // The retried request reads the stored engagement back, opened.
    const auto again = leads.RecordEngagement(engagement);
    REQUIRE(again.ok());
    CHECK(again.response.engagement().id() == recorded.response.engagement().id());
    CHECK(again.response.engagement().detail() == "asked about the clinic " + uniq);
    CHECK(QueryScalar("leads", "SELECT detail FROM lead_engagements WHERE lead_id = '" + id + "'").rfind("pv1.", 0) ==
          0);
    for (const auto& where :
         ColumnsContaining("leads", {"Saint Jude " + uniq, "asked about the clinic " + uniq}, {}, tenant)) {
        INFO(where);
        CHECK((where.rfind("leads.", 0) != 0 && where.rfind("lead_engagements.", 0) != 0));
    }
    lv1::GetLeadRequest get;
    get.set_id(id);
    const auto got = leads.GetLead(get);
    REQUIRE(got.ok());
    CHECK(got.response.lead().attributes().at("seats") == "12");
}
