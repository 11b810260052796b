// Encryption at rest of the sales service's personal columns (issue 15; migration 0007, services/sales/README.md):
// what the database owner sees of an activity (subject, description, outcome) and of a deal (description) is sealed
// values, never the clear ones; the API (get, list, timelines, updates, the data-subject export) opens them; rows
// written before are sealed by a second sales process before it serves; an erased record's data key is destroyed, so
// its sealed bytes, in a backup, open nowhere.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/child_service.hpp"
#include "../support/harness.hpp"
#include "../support/sales_client.hpp"
#include "../support/subject_data.hpp"
#include "crm/common/sealed_columns.hpp"

using namespace crm::test;

namespace {

bool IsSealed(const std::string& v) { return v.rfind("pv1.", 0) == 0; }

// Column -> stored value of one row (as the database owner: no row-level security), empty when there is none.
std::map<std::string, std::string> Stored(const std::string& table, const std::string& tenant, const std::string& id,
                                          const std::vector<std::string>& columns) {
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SALES_URL"));
    pqxx::nontransaction tx(conn);
    std::string sql = "SELECT id::text";
    for (const auto& c : columns) sql += ", " + c;
    const pqxx::result r = tx.exec(sql + " FROM " + table + " WHERE tenant_id = " + tx.quote(tenant) +
                                   " AND id = " + tx.quote(id) + "::uuid");
    std::map<std::string, std::string> out;
    if (r.empty()) return out;
    for (std::size_t i = 0; i < columns.size(); ++i) out[columns[i]] = r[0][static_cast<int>(i) + 1].c_str();
    return out;
}

std::map<std::string, std::string> StoredActivity(const std::string& tenant, const std::string& id) {
    return Stored("activities", tenant, id, {"subject", "description", "outcome"});
}

std::string KeyCount(const std::string& tenant, const std::string& id) {
    return QueryScalar("sales", "SELECT count(*) FROM crm_subject_keys WHERE tenant_id = '" + tenant +
                                    "' AND subject_id = '" + id + "'");
}

sv1::Activity MustCreateActivity(SalesClient& api, const std::string& subject, const std::string& description,
                                 const std::string& lead, const std::string& deal = "") {
    sv1::CreateActivityRequest req;
    auto* a = req.mutable_activity();
    a->set_type(sv1::ACTIVITY_TYPE_MEETING);
    a->set_subject(subject);
    a->set_description(description);
    a->set_lead_id(lead);
    a->set_opportunity_id(deal);
    const auto r = api.CreateActivity(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.activity();
}

std::map<std::string, std::string> SalesProcessEnv(int grpc_port, int metrics_port) {
    auto env = ChildServiceEnv("sales", grpc_port, metrics_port);
    // Not a replica that takes work from the stack's sales service: its schedulers poll rarely.
    env["CRM_SALES_REMINDER_POLL_MS"] = "60000";
    env["CRM_SALES_SNAPSHOT_CHECK_SECONDS"] = "3600";
    env["CRM_SHUTDOWN_GRACE_SECONDS"] = "2";
    return env;
}

}  // namespace

TEST_CASE("sales at rest: the owner sees sealed activities and deal descriptions, the API the clear values",
          "[integration][sales][sealed]") {
    const std::string tenant = UniqueTenant("ss");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string lead = crm::common::NewUuid();
    SalesClient sales(TokenFor(tenant));

    sv1::CreateOpportunityRequest deal_req;
    deal_req.mutable_opportunity()->set_name("Seats " + uniq);
    deal_req.mutable_opportunity()->set_description("Ada Byron wants 12 seats " + uniq);
    deal_req.mutable_opportunity()->set_lead_id(lead);
    deal_req.mutable_opportunity()->mutable_amount()->set_amount_minor(120000);
    deal_req.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    const auto deal_made = sales.CreateOpportunity(deal_req);
    INFO(deal_made.status.error_message());
    REQUIRE(deal_made.ok());
    const sv1::Opportunity deal = deal_made.response.opportunity();
    CHECK(deal.description() == "Ada Byron wants 12 seats " + uniq);
    const sv1::Activity call =
        MustCreateActivity(sales, "Meet Ada Byron " + uniq, "her engine notes " + uniq, lead, deal.id());
    CHECK(call.subject() == "Meet Ada Byron " + uniq);

    // What PostgreSQL holds: "pv1." values under each record's own key (one key per record, the events' key).
    const auto stored_deal = Stored("opportunities", tenant, deal.id(), {"description", "name"});
    CHECK(IsSealed(stored_deal.at("description")));
    CHECK(stored_deal.at("name") == "Seats " + uniq);  // a deal's name is not personal (policy), and stays clear
    const auto stored_call = StoredActivity(tenant, call.id());
    CHECK(IsSealed(stored_call.at("subject")));
    CHECK(IsSealed(stored_call.at("description")));
    CHECK(stored_call.at("outcome").empty());
    CHECK(KeyCount(tenant, deal.id()) == "1");
    CHECK(KeyCount(tenant, call.id()) == "1");
    // No clear value in any text column of the tenant's rows (the outbox holds the events, sealed too).
    CHECK(ColumnsContaining("sales", {"Ada Byron", "engine notes " + uniq}, {}, tenant).empty());

    // The API opens them: get, the deal's and the lead's timelines, the deal list.
    sv1::GetActivityRequest get;
    get.set_id(call.id());
    const auto got = sales.GetActivity(get);
    REQUIRE(got.ok());
    CHECK(got.response.activity().subject() == "Meet Ada Byron " + uniq);
    CHECK(got.response.activity().description() == "her engine notes " + uniq);
    for (const auto type : {sv1::RECORD_TYPE_OPPORTUNITY, sv1::RECORD_TYPE_LEAD}) {
        sv1::ListActivitiesRequest list;
        list.set_record_type(type);
        list.set_record_id(type == sv1::RECORD_TYPE_LEAD ? lead : deal.id());
        const auto listed = sales.ListActivities(list);
        INFO(listed.status.error_message());
        REQUIRE(listed.ok());
        REQUIRE(listed.response.activities_size() == 1);
        CHECK(listed.response.activities(0).description() == "her engine notes " + uniq);
    }
    sv1::GetOpportunityRequest get_deal;
    get_deal.set_id(deal.id());
    const auto got_deal = sales.GetOpportunity(get_deal);
    REQUIRE(got_deal.ok());
    CHECK(got_deal.response.opportunity().description() == "Ada Byron wants 12 seats " + uniq);
    sv1::ListOpportunitiesRequest list_deals;
    const auto deals = sales.ListOpportunities(list_deals);
    REQUIRE(deals.ok());
    REQUIRE(deals.response.opportunities_size() == 1);
    CHECK(deals.response.opportunities(0).description() == "Ada Byron wants 12 seats " + uniq);

    // Writes seal afresh: an update, the completion's outcome, a deal update and a stage move (which keeps it).
    sv1::UpdateActivityRequest update;
    update.mutable_activity()->set_id(call.id());
    update.mutable_activity()->set_description("her new notes " + uniq);
    update.mutable_update_mask()->add_paths("description");
    const auto updated = sales.UpdateActivity(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.activity().description() == "her new notes " + uniq);
    CHECK(updated.response.activity().subject() == "Meet Ada Byron " + uniq);
    sv1::CompleteActivityRequest complete;
    complete.set_id(call.id());
    complete.set_outcome("Ada Byron signed " + uniq);
    const auto done = sales.CompleteActivity(complete);
    INFO(done.status.error_message());
    REQUIRE(done.ok());
    CHECK(done.response.activity().outcome() == "Ada Byron signed " + uniq);
    const auto after_call = StoredActivity(tenant, call.id());
    CHECK(IsSealed(after_call.at("outcome")));
    CHECK(IsSealed(after_call.at("description")));
    CHECK(after_call.at("subject") != stored_call.at("subject"));  // sealed again, with a fresh nonce
    sv1::UpdateOpportunityRequest update_deal;
    update_deal.mutable_opportunity()->set_id(deal.id());
    update_deal.mutable_opportunity()->set_description("Ada Byron wants 20 seats " + uniq);
    update_deal.mutable_update_mask()->add_paths("description");
    const auto deal_updated = sales.UpdateOpportunity(update_deal);
    INFO(deal_updated.status.error_message());
    REQUIRE(deal_updated.ok());
    CHECK(deal_updated.response.opportunity().description() == "Ada Byron wants 20 seats " + uniq);
    sv1::LoseOpportunityRequest lose;
    lose.set_id(deal.id());
    lose.set_reason("budget");
    const auto lost = sales.LoseOpportunity(lose);
    INFO(lost.status.error_message());
    REQUIRE(lost.ok());
    CHECK(lost.response.opportunity().description() == "Ada Byron wants 20 seats " + uniq);
    CHECK(IsSealed(Stored("opportunities", tenant, deal.id(), {"description"}).at("description")));
    CHECK(ColumnsContaining("sales", {"Ada Byron", "notes " + uniq}, {}, tenant).empty());

    // Another tenant does not see the record, sealed or not.
    SalesClient other(TokenFor(UniqueTenant("ss")));
    CHECK(other.GetActivity(get).status.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("sales at rest: an erasure destroys the records' data keys, so their sealed bytes open nowhere",
          "[integration][sales][sealed][subject_data]") {
    const std::string tenant = UniqueTenant("ss");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string lead = crm::common::NewUuid();
    SalesClient sales(TokenFor(tenant));
    sv1::CreateOpportunityRequest deal_req;
    deal_req.mutable_opportunity()->set_name("Pilot " + uniq);
    deal_req.mutable_opportunity()->set_description("Erin's budget " + uniq);
    deal_req.mutable_opportunity()->set_lead_id(lead);
    deal_req.mutable_opportunity()->mutable_amount()->set_amount_minor(5000);
    deal_req.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    const auto deal_made = sales.CreateOpportunity(deal_req);
    REQUIRE(deal_made.ok());
    const std::string deal = deal_made.response.opportunity().id();
    const sv1::Activity call = MustCreateActivity(sales, "Call Erin " + uniq, "Erin's notes " + uniq, lead);

    // The export opens the sealed columns (the person is owed the clear values).
    SubjectDataClient officer("CRM_TEST_SALES", tenant);
    pv1::ExportSubjectRequest ex;
    *ex.mutable_subject() = MakeSubject({}, {lead}, {});
    pv1::ExportSubjectResponse exported;
    REQUIRE(officer.ExportSubject(ex, &exported).ok());
    const auto activities = Records(exported, "activity");
    REQUIRE(activities.size() == 1);
    CHECK(activities[0].at("subject") == "Call Erin " + uniq);
    CHECK(activities[0].at("description") == "Erin's notes " + uniq);
    const auto deals = Records(exported, "opportunity");
    REQUIRE(deals.size() == 1);
    CHECK(deals[0].at("description") == "Erin's budget " + uniq);

    // A backup taken before the erasure: the sealed values, and the records' wrapped keys beside them.
    const auto backup_call = StoredActivity(tenant, call.id());
    const auto backup_deal = Stored("opportunities", tenant, deal, {"description"});
    REQUIRE(IsSealed(backup_call.at("description")));
    REQUIRE(IsSealed(backup_deal.at("description")));
    REQUIRE(KeyCount(tenant, call.id()) == "1");
    REQUIRE(KeyCount(tenant, deal) == "1");

    MustErase(officer, MakeSubject({}, {lead}, {}), "erase-" + uniq);

    CHECK(KeyCount(tenant, call.id()) == "0");
    CHECK(KeyCount(tenant, deal) == "0");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SALES_URL"));
    pqxx::nontransaction tx(conn);
    const pqxx::row call_key = tx.exec1(
        "SELECT " CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text") " FROM activities a WHERE a.tenant_id = " +
        tx.quote(tenant) + " AND a.id = " + tx.quote(call.id()) + "::uuid");
    CHECK(call_key[0].is_null());
    const crm::common::ColumnKey key(tenant, call.id(), call_key[0]);
    CHECK(key.Open("activities.subject", backup_call.at("subject")).empty());
    CHECK(key.Open("activities.description", backup_call.at("description")).empty());
    const pqxx::row deal_key = tx.exec1(
        "SELECT " CRM_SUBJECT_KEY_COLUMN("o.tenant_id", "o.id::text") " FROM opportunities o WHERE o.tenant_id = " +
        tx.quote(tenant) + " AND o.id = " + tx.quote(deal) + "::uuid");
    CHECK(crm::common::ColumnKey(tenant, deal, deal_key[0])
              .Open("opportunities.description", backup_deal.at("description"))
              .empty());
    // The rows keep nothing personal: blanked, the subject a clear marker; the API reads them without failing.
    const auto erased = StoredActivity(tenant, call.id());
    CHECK(erased.at("subject") == "(erased on request)");
    CHECK(erased.at("description").empty());
    CHECK(Stored("opportunities", tenant, deal, {"description"}).at("description").empty());
    sv1::GetActivityRequest get;
    get.set_id(call.id());
    const auto got = sales.GetActivity(get);
    INFO(got.status.error_message());
    REQUIRE(got.ok());
    CHECK(got.response.activity().subject() == "(erased on request)");
    CHECK(ColumnsContaining("sales", {"Erin", uniq + "'s"}, {}, tenant).empty());
}

TEST_CASE("sales at rest: rows written before are sealed by a sales process before it serves",
          "[integration][sales][sealed][backfill]") {
    const std::string tenant = UniqueTenant("ss");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string note = "written before encryption at rest " + uniq;
    SalesClient sales(TokenFor(tenant));
    const sv1::Pipeline pipeline = sales.MustDefaultPipeline();
    std::vector<std::string> calls;
    std::string deal, erased_call;
    {
        // As the database owner, in the tenant (FORCEd row-level security), rows as the service wrote them before.
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_SALES_URL"));
        pqxx::work tx(conn);
        tx.exec("SELECT set_config('crm.tenant_id', " + tx.quote(tenant) + ", true)");
        deal = tx.exec1(
                     "INSERT INTO opportunities (tenant_id, id, name, pipeline_id, stage_id, probability, "
                     "amount_minor, currency, description) VALUES (" +
                     tx.quote(tenant) + ", gen_random_uuid(), 'Legacy deal', " + tx.quote(pipeline.id()) + "::uuid, " +
                     tx.quote(pipeline.stages(0).id()) + "::uuid, 10, 100, 'EUR', " + tx.quote(note) +
                     ") RETURNING id::text")[0]
                   .as<std::string>();
        for (int i = 0; i < 3; ++i) {
            calls.push_back(tx.exec1("INSERT INTO activities (tenant_id, id, type, subject, description, outcome, "
                                     "opportunity_id) VALUES (" +
                                     tx.quote(tenant) + ", gen_random_uuid(), 'CALL', 'Old call " + std::to_string(i) +
                                     "', " + tx.quote(note) + ", " + (i == 0 ? "'agreed'" : "''") + ", " +
                                     tx.quote(deal) + "::uuid) RETURNING id::text")[0]
                                .as<std::string>());
        }
        // An activity erased before: its clear marker is not personal and gets no key.
        erased_call = tx.exec1("INSERT INTO activities (tenant_id, id, type, subject, opportunity_id) VALUES (" +
                               tx.quote(tenant) + ", gen_random_uuid(), 'CALL', '(erased on request)', " +
                               tx.quote(deal) + "::uuid) RETURNING id::text")[0]
                          .as<std::string>();
        tx.commit();
    }
    REQUIRE(StoredActivity(tenant, calls[0]).at("description") == note);

    const int port = FreePort();
    const std::string address = "127.0.0.1:" + std::to_string(port);
    ChildProcess service(CRM_SALES_BINARY, {}, SalesProcessEnv(port, FreePort()), "/tmp/crm-sales-backfill.log");
    // Other tests' rows written by SQL may be sealed first: a generous wait.
    REQUIRE(WaitServing(address, std::chrono::seconds(240)));

    // Serving means the backfill ran: every row sealed.
    for (const auto& id : calls) {
        const auto s = StoredActivity(tenant, id);
        INFO(id);
        CHECK(IsSealed(s.at("subject")));
        CHECK(IsSealed(s.at("description")));
        CHECK((id == calls[0] ? IsSealed(s.at("outcome")) : s.at("outcome").empty()));
    }
    CHECK(IsSealed(Stored("opportunities", tenant, deal, {"description"}).at("description")));
    CHECK(StoredActivity(tenant, erased_call).at("subject") == "(erased on request)");
    CHECK(KeyCount(tenant, erased_call) == "0");
    CHECK(ColumnsContaining("sales", {note, "Old call"}, {}, tenant).empty());

    // Through that process and the stack's: the records read clear.
    SalesClient direct("", grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    sv1::GetActivityRequest get;
    get.set_id(calls[0]);
    const auto got = direct.GetActivity(get, SignedIdentity(tenant));
    INFO(got.status.error_message());
    REQUIRE(got.ok());
    CHECK(got.response.activity().subject() == "Old call 0");
    CHECK(got.response.activity().description() == note);
    CHECK(got.response.activity().outcome() == "agreed");
    sv1::GetOpportunityRequest get_deal;
    get_deal.set_id(deal);
    const auto got_deal = sales.GetOpportunity(get_deal);
    REQUIRE(got_deal.ok());
    CHECK(got_deal.response.opportunity().description() == note);
}
