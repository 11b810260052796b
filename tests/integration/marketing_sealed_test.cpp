// Encryption at rest of marketing's personal columns (issue 15; migration 0021, services/marketing/README.md): what the
// database owner sees of an audience member (sealed values, the e-mail's blind index), segment conditions on sealed
// fields decided by the service on the opened rows (three-valued SQL prefilter), and the backfill of rows written
// before (a second marketing process seals the audience and the messages' addresses and turns the suppressions'
// addresses into blind indexes before it serves).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>

#include "../support/child_service.hpp"
#include "../support/contacts_client.hpp"
#include "../support/harness.hpp"
#include "../support/marketing_client.hpp"
#include "../support/subject_data.hpp"
#include "../support/wait.hpp"
#include "crm/common/sealed_columns.hpp"

using namespace crm::test;

namespace {

bool IsHex64(const std::string& s) { return std::regex_match(s, std::regex("[0-9a-f]{64}")); }

std::string Index(const std::string& tenant, const std::string& email) {
    return crm::common::ColumnIndex(tenant, "audience.email", email);
}

// One audience row as the database owner reads it (no row-level security), with the person's data key.
struct StoredPerson {
    std::map<std::string, std::string> columns;
    std::optional<crm::common::ColumnKey> key;
};
StoredPerson Stored(const std::string& tenant, const std::string& id) {
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
    pqxx::nontransaction tx(conn);
    const pqxx::result r = tx.exec(
        "SELECT a.email, a.email_index, a.given_name, a.family_name, a.job_title, a.company_name, "
        "a.custom::text, " CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text") " FROM audience a WHERE a.tenant_id = " +
        tx.quote(tenant) + " AND a.id = " + tx.quote(id) + "::uuid");
    StoredPerson out;
    if (r.empty()) return out;
    int i = 0;
    for (const char* c : {"email", "email_index", "given_name", "family_name", "job_title", "company_name", "custom"}) {
        out.columns[c] = r[0][i++].c_str();
    }
    out.key.emplace(tenant, id, r[0][7]);
    return out;
}

// The ids PreviewSegment finds for a rule (REQUIREs success and a count equal to the members listed).
std::set<std::string> Preview(MarketingClient& api, const mv1::SegmentRule& rule) {
    mv1::PreviewSegmentRequest req;
    *req.mutable_rule() = rule;
    req.set_page_size(500);
    const auto r = api.PreviewSegment(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    std::set<std::string> out;
    for (const auto& m : r.response.members()) out.insert(m.id());
    CHECK(r.response.count() == static_cast<std::int64_t>(out.size()));
    return out;
}

std::map<std::string, std::string> MarketingProcessEnv(int grpc_port, int metrics_port) {
    auto env = ChildServiceEnv("marketing", grpc_port, metrics_port);
    // Not a replica that takes work from the stack's marketing service: its own consumer group on a topic nobody
    // writes, senders and sequence runners that wait a minute after their first round.
    env["CRM_MARKETING_AUDIENCE_TOPICS"] = "crm.marketing-backfill-test.v1";
    env["CRM_KAFKA_GROUP_ID"] = "crm-marketing-backfill-test-" + crm::common::NewUuid().substr(0, 8);
    env["CRM_MARKETING_SEND_INTERVAL_MS"] = "60000";
    env["CRM_MARKETING_SEQUENCE_INTERVAL_MS"] = "60000";
    env["CRM_MARKETING_PUBLIC_BASE_URL"] = "http://127.0.0.1:1";
    // Its first sender round runs at start: a message it takes goes to the stack's SMTP server, as the stack's would.
    env["CRM_MARKETING_SMTP_URL"] = "smtp://" + RequireEnv("CRM_TEST_SMTP");
    env["CRM_SHUTDOWN_GRACE_SECONDS"] = "2";
    return env;
}

}  // namespace

TEST_CASE("marketing at rest: the owner sees sealed audience values and the e-mail's blind index, the API clear ones",
          "[integration][marketing][sealed]") {
    const std::string tenant = UniqueTenant("mseal");
    const std::string token = TokenFor(tenant, {"admin"});
    ContactsClient contacts(token);
    MarketingClient api(token);
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string family = "Sealwright" + uniq;
    const std::string email = "ada." + uniq + "@example.com";
    const cv1::Contact ada = contacts.MustCreate("Ada", family, email);
    const cv1::Contact bob = contacts.MustCreate("Bob", family, "bob." + uniq + "@example.com");
    const cv1::Contact cy = contacts.MustCreate("Cy", "Other" + uniq, "cy." + uniq + "@example.com");
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(cy.id());
        return api.GetAudienceMember(get).ok();
    }));

    const StoredPerson stored = Stored(tenant, ada.id());
    REQUIRE(stored.key.has_value());
    for (const char* c : {"email", "given_name", "family_name"}) {
        INFO(c << " = " << stored.columns.at(c));
        CHECK(stored.columns.at(c).rfind("pv1.", 0) == 0);
    }
    CHECK(stored.columns.at("job_title").empty());  // "" stays "" (EXISTS conditions read it)
    CHECK(IsHex64(stored.columns.at("email_index")));
    CHECK(stored.columns.at("email_index") == Index(tenant, email));
    CHECK(stored.key->Open("audience.email", stored.columns.at("email")) == email);
    CHECK(stored.key->Open("audience.family_name", stored.columns.at("family_name")) == family);
    // A value moved to another column does not open there.
    CHECK_THROWS(stored.key->Open("audience.given_name", stored.columns.at("family_name")));
    // Nothing of theirs is in clear in marketing's tables.
    CHECK(ColumnsContaining("marketing", {family, email}, {}, tenant).empty());

    mv1::GetAudienceMemberRequest get;
    get.set_id(ada.id());
    const auto got = api.GetAudienceMember(get);
    REQUIRE(got.ok());
    CHECK(got.response.member().email() == email);
    CHECK(got.response.member().family_name() == family);
    CHECK(got.response.member().given_name() == "Ada");

    // Segment conditions on sealed fields, decided on the opened rows; beside SQL-decided ones and under NOT.
    using mv1::CONDITION_OPERATOR_CONTAINS, mv1::CONDITION_OPERATOR_EQUALS, mv1::CONDITION_OPERATOR_IN,
        mv1::CONDITION_OPERATOR_EXISTS, mv1::CONDITION_OPERATOR_NOT_EXISTS;
    const auto family_is = FieldRule("family_name", CONDITION_OPERATOR_EQUALS, {family});
    CHECK(Preview(api, family_is) == std::set<std::string>{ada.id(), bob.id()});
    CHECK(Preview(api, Group(true, {family_is, Not(FieldRule("given_name", CONDITION_OPERATOR_EQUALS, {"Bob"}))})) ==
          std::set<std::string>{ada.id()});
    CHECK(Preview(api, Group(false, {FieldRule("given_name", CONDITION_OPERATOR_CONTAINS, {"y"}),
                                     FieldRule("email", CONDITION_OPERATOR_EQUALS, {email})})) ==
          std::set<std::string>{ada.id(), cy.id()});
    // E-mail equality through the blind index; EXISTS on the sealed column; an upper-case address is another one.
    CHECK(Preview(api, FieldRule("email", CONDITION_OPERATOR_IN, {email, "cy." + uniq + "@example.com"})) ==
          std::set<std::string>{ada.id(), cy.id()});
    CHECK(Preview(api, FieldRule("email", CONDITION_OPERATOR_EQUALS, {"ADA." + uniq + "@example.com"})).empty());
    CHECK(Preview(api, Group(true, {family_is, FieldRule("job_title", CONDITION_OPERATOR_NOT_EXISTS, {})})).size() ==
          2);
    CHECK(Preview(api, Group(true, {family_is, FieldRule("job_title", CONDITION_OPERATOR_EXISTS, {})})).empty());

    // A dynamic segment over sealed fields is evaluated in full, then kept up to date as people change.
    mv1::CreateSegmentRequest create;
    create.mutable_segment()->set_name("Sealwrights");
    create.mutable_segment()->set_type(mv1::SEGMENT_TYPE_DYNAMIC);
    *create.mutable_segment()->mutable_rule() =
        Group(true, {FieldRule("family_name", CONDITION_OPERATOR_CONTAINS, {"Sealwright"}),
                     FieldRule("email", CONDITION_OPERATOR_EXISTS, {})});
    const auto created = api.CreateSegment(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    CHECK(created.response.segment().member_count() == 2);
    cv1::UpdateContactRequest update;
    update.mutable_contact()->set_id(cy.id());
    update.mutable_contact()->set_family_name("Sealwright-Jones" + uniq);
    update.mutable_update_mask()->add_paths("family_name");
    update.set_etag(cy.etag());
    const auto updated = contacts.UpdateContact(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    REQUIRE(Eventually([&] {
        mv1::GetSegmentRequest g;
        g.set_id(created.response.segment().id());
        const auto s = api.GetSegment(g);
        return s.ok() && s.response.segment().member_count() == 3;
    }));
}

TEST_CASE("marketing at rest: rows written before are sealed and indexed by a marketing process before it serves",
          "[integration][marketing][sealed][backfill]") {
    const std::string tenant = UniqueTenant("mseal");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string person = crm::common::NewUuid();
    const std::string email = "legacy." + uniq + "@example.com";
    const std::string bounced = "bounced." + uniq + "@example.com";
    const std::string family = "Timer" + uniq;
    const std::string industry = "clinics " + uniq;
    const std::string send = crm::common::NewUuid();
    {
        // As the database owner, in the tenant (FORCEd row-level security): rows as the service wrote them before
        // migration 0021, every value in clear.
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        tx.exec("SELECT set_config('crm.tenant_id', " + t + ", true)");
        tx.exec(
            "INSERT INTO audience (tenant_id, id, kind, email, given_name, family_name, job_title, company_name, "
            "consent, custom, source_version, create_time) VALUES (" +
            t + ", " + tx.quote(person) + "::uuid, 'contact', " + tx.quote(email) + ", 'Old', " + tx.quote(family) +
            ", 'Buyer', 'Acme " + uniq + "', 'opted_in', jsonb_build_object('industry', " + tx.quote(industry) +
            ", 'empty', ''), 1, now())");
        tx.exec("INSERT INTO campaigns (tenant_id, id, name, type, utm_campaign) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000000c', 'Seeded', 'EMAIL', 'seeded')");
        tx.exec("INSERT INTO email_templates (tenant_id, id, name, subject, text_body) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000000e', 'T', 'S', 'B')");
        tx.exec("INSERT INTO segments (tenant_id, id, name, type) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000005e', 'L', 'STATIC')");
        tx.exec(
            "INSERT INTO email_sends (tenant_id, id, campaign_id, template_id, segment_id, status, schedule_time) "
            "VALUES (" +
            t + ", " + tx.quote(send) +
            "::uuid, '00000000-0000-0000-0000-00000000000c', '00000000-0000-0000-0000-00000000000e', "
            "'00000000-0000-0000-0000-00000000005e', 'COMPLETED', now())");
        tx.exec("INSERT INTO email_recipients (tenant_id, send_id, person_id, email, status) VALUES (" + t + ", " +
                tx.quote(send) + "::uuid, " + tx.quote(person) + "::uuid, " + tx.quote(email) + ", 'sent')");
        // Two suppressions in clear; the second address is also suppressed by its index already (kept as it is).
        tx.exec("INSERT INTO suppressions (tenant_id, address_key, reason) VALUES (" + t + ", " + tx.quote(email) +
                ", 'unsubscribed'), (" + t + ", " + tx.quote(bounced) + ", 'unsubscribed'), (" + t + ", " +
                tx.quote(Index(tenant, bounced)) + ", 'hard_bounce')");
        tx.commit();
    }
    REQUIRE_FALSE(ColumnsContaining("marketing", {family, email, industry}, {}, tenant).empty());

    const int port = FreePort();
    const std::string address = "127.0.0.1:" + std::to_string(port);
    ChildProcess service(CRM_MARKETING_BINARY, {}, MarketingProcessEnv(port, FreePort()),
                         "/tmp/crm-marketing-backfill.log");
    REQUIRE(WaitServing(address, std::chrono::seconds(60)));

    // Serving means the backfills ran: every value sealed, every address indexed, no address left in clear.
    const StoredPerson s = Stored(tenant, person);
    REQUIRE(s.key.has_value());
    for (const char* c : {"email", "given_name", "family_name", "job_title", "company_name"}) {
        INFO(c << " = " << s.columns.at(c));
        CHECK(s.columns.at(c).rfind("pv1.", 0) == 0);
    }
    CHECK(s.columns.at("email_index") == Index(tenant, email));
    const nlohmann::json custom = nlohmann::json::parse(s.columns.at("custom"));
    CHECK(custom.at("industry").get<std::string>().rfind("pv1.", 0) == 0);
    CHECK(custom.at("empty") == "");
    CHECK(s.key->Open("audience.custom.industry", custom.at("industry").get<std::string>()) == industry);
    CHECK(ColumnsContaining("marketing", {family, email, industry, bounced, "Acme " + uniq}, {}, tenant).empty());
    {
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
        pqxx::nontransaction tx(conn);
        // The message's address: sealed for audience.email under the person's key, with the same index.
        const pqxx::row r =
            tx.exec1("SELECT r.email, r.email_index, " CRM_SUBJECT_KEY_COLUMN(
                         "r.tenant_id", "r.person_id::text") " FROM email_recipients r WHERE r.tenant_id = " +
                     tx.quote(tenant));
        CHECK(crm::common::ColumnKey(tenant, person, r[2]).Open("audience.email", r[0].c_str()) == email);
        CHECK(std::string(r[1].c_str()) == Index(tenant, email));
        std::map<std::string, std::string> suppressed;
        for (const auto& row :
             tx.exec("SELECT address_key, reason FROM suppressions WHERE tenant_id = " + tx.quote(tenant))) {
            suppressed[row[0].c_str()] = row[1].c_str();
        }
        CHECK(suppressed == std::map<std::string, std::string>{{Index(tenant, email), "unsubscribed"},
                                                               {Index(tenant, bounced), "hard_bounce"}});
    }

    // Through that process: the member reads clear; a segment condition on the sealed custom field finds it.
    MarketingClient direct(SignedIdentity(tenant), grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    mv1::GetAudienceMemberRequest get;
    get.set_id(person);
    const auto got = direct.GetAudienceMember(get);
    INFO(got.status.error_message());
    REQUIRE(got.ok());
    CHECK(got.response.member().email() == email);
    CHECK(got.response.member().family_name() == family);
    CHECK(got.response.member().company_name() == "Acme " + uniq);
    CHECK(got.response.member().custom().at("industry") == industry);
    CHECK(Preview(direct, Group(true, {FieldRule("custom.industry", mv1::CONDITION_OPERATOR_EQUALS, {industry}),
                                       FieldRule("family_name", mv1::CONDITION_OPERATOR_CONTAINS, {"Timer"})})) ==
          std::set<std::string>{person});
}
