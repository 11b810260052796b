// Tenant isolation: tenant A cannot read, list, search, change, merge, export or erase tenant B's records, not even
// with forged identity metadata. Every such call answers NOT_FOUND (or an empty list) and changes nothing.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/contacts_client.hpp"

using namespace crm::test;

TEST_CASE("tenancy: another tenant's ids are NOT_FOUND on every RPC", "[integration][contacts][tenancy]") {
    const std::string tenant_a = UniqueTenant("a");
    const std::string tenant_b = UniqueTenant("b");
    ContactsClient a(TokenFor(tenant_a));
    ContactsClient b(TokenFor(tenant_b));
    cv1::Contact secret = b.MustCreate("Bea", "Secret", "bea@b.example", "+1 202 555 0111");
    cv1::Contact other = b.MustCreate("Bob", "Secret", "bob@b.example");
    cv1::Contact mine = a.MustCreate("Al", "Mine", "al@a.example");
    cv1::CreateCompanyRequest co;
    co.mutable_company()->set_name("B Corp");
    auto b_company = b.CreateCompany(co);
    REQUIRE(b_company.ok());
    const std::string b_version =
        QueryScalar("contacts", "SELECT max(version) FROM contacts WHERE tenant_id = '" + tenant_b + "'");

    cv1::GetContactRequest get;
    get.set_id(secret.id());
    CHECK(a.GetContact(get).status.error_code() == grpc::StatusCode::NOT_FOUND);

    cv1::UpdateContactRequest upd;
    upd.mutable_contact()->set_id(secret.id());
    upd.mutable_contact()->set_job_title("pwned");
    upd.mutable_update_mask()->add_paths("job_title");
    CHECK(a.UpdateContact(upd).status.error_code() == grpc::StatusCode::NOT_FOUND);

    cv1::DeleteContactRequest del;
    del.set_id(secret.id());
    CHECK(a.DeleteContact(del).status.error_code() == grpc::StatusCode::NOT_FOUND);

    cv1::MergeContactsRequest merge_theirs;
    merge_theirs.set_survivor_id(mine.id());
    merge_theirs.add_loser_ids(secret.id());
    CHECK(a.MergeContacts(merge_theirs).status.error_code() == grpc::StatusCode::NOT_FOUND);
    cv1::MergeContactsRequest merge_both;
    merge_both.set_survivor_id(secret.id());
    merge_both.add_loser_ids(other.id());
    CHECK(a.MergeContacts(merge_both).status.error_code() == grpc::StatusCode::NOT_FOUND);

    cv1::ExportContactDataRequest exp;
    exp.set_id(secret.id());
    CHECK(a.ExportContactData(exp).status.error_code() == grpc::StatusCode::NOT_FOUND);
    cv1::EraseContactRequest erase;
    erase.set_id(secret.id());
    CHECK(a.EraseContact(erase).status.error_code() == grpc::StatusCode::NOT_FOUND);
    cv1::UpdateContactConsentRequest consent;
    consent.set_id(secret.id());
    consent.set_status(cv1::CONSENT_STATUS_OPTED_OUT);
    consent.set_source("attack");
    CHECK(a.UpdateContactConsent(consent).status.error_code() == grpc::StatusCode::NOT_FOUND);
    cv1::FindDuplicatesRequest dup;
    dup.set_contact_id(secret.id());
    CHECK(a.FindDuplicates(dup).status.error_code() == grpc::StatusCode::NOT_FOUND);

    cv1::GetCompanyRequest get_co;
    get_co.set_id(b_company.response.company().id());
    CHECK(a.GetCompany(get_co).status.error_code() == grpc::StatusCode::NOT_FOUND);

    // Lists, search and duplicate search see only A's own rows.
    cv1::ListContactsRequest list;
    list.set_page_size(500);
    auto listed = a.ListContacts(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.contacts_size() == 1);
    CHECK(listed.response.contacts(0).id() == mine.id());
    cv1::SearchContactsRequest search;
    search.set_query("Bea");
    CHECK(a.SearchContacts(search).response.contacts_size() == 0);
    cv1::FindDuplicatesRequest cand;
    cand.mutable_candidate()->set_email("bea@b.example");
    auto dups = a.FindDuplicates(cand);
    REQUIRE(dups.ok());
    CHECK(dups.response.matches_size() == 0);
    // A's create with B's email is not a duplicate (emails are unique per tenant only).
    a.MustCreate("Bea", "Copy", "bea@b.example");

    // Nothing of B changed.
    CHECK(QueryScalar("contacts", "SELECT max(version) FROM contacts WHERE tenant_id = '" + tenant_b + "'") ==
          b_version);
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant_b +
                                      "' AND (job_title = 'pwned' OR delete_time IS NOT NULL OR state <> 'ACTIVE')") ==
          "0");
}

TEST_CASE("tenancy: forged identity metadata through the gateway is ignored", "[integration][contacts][tenancy]") {
    const std::string tenant_a = UniqueTenant("a");
    const std::string tenant_b = UniqueTenant("b");
    ContactsClient b(TokenFor(tenant_b));
    cv1::Contact secret = b.MustCreate("Bea", "Secret", "bea@b.example");
    ContactsClient a(TokenFor(tenant_a));
    const std::map<std::string, std::string> forged = {
        {"x-crm-tenant", tenant_b}, {"x-crm-roles", "admin"}, {"x-crm-user", "attacker"}};
    cv1::GetContactRequest get;
    get.set_id(secret.id());
    CHECK(a.GetContact(get, forged).status.error_code() == grpc::StatusCode::NOT_FOUND);
    // A create with forged headers lands in the token's tenant.
    cv1::CreateContactRequest create;
    create.mutable_contact()->set_given_name("Forged");
    auto created = a.CreateContact(create, forged);
    REQUIRE(created.ok());
    CHECK(QueryScalar("contacts", "SELECT tenant_id FROM contacts WHERE id = '" + created.response.contact().id() +
                                      "'") == tenant_a);
}

TEST_CASE("tenancy: the service refuses calls that do not come through the gateway",
          "[integration][contacts][tenancy]") {
    const std::string tenant_b = UniqueTenant("b");
    ContactsClient b(TokenFor(tenant_b));
    cv1::Contact secret = b.MustCreate("Bea", "Secret");
    // Directly to the service, with a valid user token and hand-made identity headers but no gateway signature.
    ContactsClient direct(TokenFor(tenant_b), DirectChannel("CRM_TEST_CONTACTS"));
    cv1::GetContactRequest get;
    get.set_id(secret.id());
    auto r = direct.GetContact(get, {{"x-crm-tenant", tenant_b},
                                     {"x-crm-roles", "admin"},
                                     {"x-crm-user", "u"},
                                     {"x-crm-identity-ts", "1"},
                                     {"x-crm-identity-sig", std::string(64, '0')}});
    CHECK(r.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    auto bare = direct.GetContact(get);
    CHECK(bare.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("tenancy: row-level security hides other tenants even from a query without a tenant filter",
          "[integration][contacts][tenancy]") {
    const std::string tenant_a = UniqueTenant("a");
    const std::string tenant_b = UniqueTenant("b");
    ContactsClient(TokenFor(tenant_a)).MustCreate("Rls", "A");
    ContactsClient(TokenFor(tenant_b)).MustCreate("Rls", "B");
    // Connect as the service's own application role, set tenant A, and ask for every row with no WHERE clause.
    pqxx::connection conn(RequireEnv("CRM_CONTACTS_DB_URL"));
    {
        pqxx::work tx(conn);
        tx.exec_params("SELECT set_config('crm.tenant_id', $1, true)", tenant_a);
        auto rows = tx.exec("SELECT DISTINCT tenant_id FROM contacts");
        REQUIRE(rows.size() == 1);
        CHECK(rows[0][0].as<std::string>() == tenant_a);
    }
    {
        // Without a tenant the application role sees nothing at all, and cannot write into another tenant.
        pqxx::work tx(conn);
        CHECK(tx.exec("SELECT count(*) FROM contacts")[0][0].as<long>() == 0);
    }
    {
        pqxx::work tx(conn);
        tx.exec_params("SELECT set_config('crm.tenant_id', $1, true)", tenant_a);
        CHECK_THROWS_AS(tx.exec_params("UPDATE contacts SET tenant_id = $1", tenant_b), pqxx::sql_error);
    }
}
