// The kit's audit trail (common/include/crm/common/audit.hpp) against the contacts database, where the kit's
// migrations created crm_audit: rows appended by the app role in tenant transactions chain up and verify (the
// hash PostgreSQL computes is the one the verifier recomputes), the app role cannot change or remove a row, another
// tenant sees nothing, and a row altered or removed behind the trigger's back (as a superuser would) is found.
#include "crm/common/audit.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/harness.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/rpc.hpp"

namespace cc = crm::common;
using crm::test::RequireEnv;

namespace {

cc::RequestContext Caller(const std::string& tenant, int request) {
    cc::RequestContext rc;
    rc.tenant_id = tenant;
    rc.user_id = "user-" + std::to_string(request % 3);
    rc.roles = {"sales_rep", "admin \"quoted\", {braced}"};
    rc.request_id = "req-" + std::to_string(request);
    return rc;
}

template <class F>
auto AsApp(const std::string& tenant, F&& fn) {
    pqxx::connection app(RequireEnv("CRM_CONTACTS_DB_URL"));
    pqxx::work tx(app);
    tx.exec_params("SELECT set_config('crm.tenant_id', $1, true)", tenant);
    auto result = fn(tx);
    tx.commit();
    return result;
}

cc::AuditChainCheck Verify(const std::string& tenant) {
    return AsApp(tenant, [&](pqxx::work& tx) { return cc::VerifyAuditChains(tx, tenant); });
}

}  // namespace

TEST_CASE("audit: appended rows chain per tenant, verify, and cannot be changed or removed by the app role") {
    const std::string tenant = "audit-" + cc::HexEncode(cc::RandomBytes(5));
    const std::string other = tenant + "-other";
    for (int i = 0; i < 40; ++i) {
        AsApp(tenant, [&](pqxx::work& tx) {
            return cc::AppendAudit(tx, Caller(tenant, i),
                                   {"UpdateContact",
                                    "contact",
                                    "c-" + std::to_string(i % 7),
                                    i % 5 ? "OK" : "ABORTED",
                                    {"email", "custom_fields.tier", i % 2 ? "tags" : "given_name"}});
        });
    }
    AsApp(other, [&](pqxx::work& tx) {
        return cc::AppendAudit(tx, Caller(other, 1), {"CreateContact", "contact", "x"});
    });

    const cc::AuditChainCheck check = Verify(tenant);
    CHECK(check.intact);
    CHECK(check.problem.empty());
    CHECK(check.rows == 40);
    CHECK(Verify(other).rows == 1);
    // Rows of several chains (request ids spread over them) and none of the other tenant's under RLS.
    const auto seen = AsApp(tenant, [&](pqxx::work& tx) {
        const pqxx::row r = tx.exec1(
            "SELECT count(DISTINCT chain), count(*) FILTER (WHERE tenant_id <> current_setting('crm.tenant_id')) "
            "FROM crm_audit");
        return std::make_pair(r[0].as<int>(), r[1].as<int>());
    });
    CHECK(seen.first > 1);
    CHECK(seen.second == 0);

    // The app role: no UPDATE, no DELETE, no TRUNCATE privilege (and the trigger would refuse them anyway).
    CHECK_THROWS_AS(AsApp(tenant, [&](pqxx::work& tx) { return tx.exec("UPDATE crm_audit SET outcome = 'OK'"); }),
                    pqxx::sql_error);
    CHECK_THROWS_AS(AsApp(tenant, [&](pqxx::work& tx) { return tx.exec("DELETE FROM crm_audit"); }), pqxx::sql_error);
    CHECK_THROWS_AS(AsApp(tenant, [&](pqxx::work& tx) { return tx.exec("TRUNCATE crm_audit"); }), pqxx::sql_error);
    CHECK(Verify(tenant).rows == 40);
}

TEST_CASE("audit: a row altered or removed behind the trigger's back breaks its chain") {
    const std::string tenant = "audit-" + cc::HexEncode(cc::RandomBytes(5));
    for (int i = 0; i < 24; ++i) {
        AsApp(tenant, [&](pqxx::work& tx) {
            return cc::AppendAudit(tx, Caller(tenant, i), {"CreateContact", "contact", "c-" + std::to_string(i)});
        });
    }
    REQUIRE(Verify(tenant).intact);
    pqxx::connection super(RequireEnv("CRM_TEST_PG_CONTACTS_URL"));
    const auto tamper = [&](const std::string& sql) {
        pqxx::work tx(super);
        tx.exec("ALTER TABLE crm_audit DISABLE TRIGGER crm_audit_no_update");
        const auto r = tx.exec_params(sql, tenant);
        tx.exec("ALTER TABLE crm_audit ENABLE TRIGGER crm_audit_no_update");
        tx.commit();
        return r.affected_rows();
    };
    // Altered: someone "corrects" who did it.
    REQUIRE(tamper("UPDATE crm_audit SET actor_user = 'someone-else' WHERE tenant_id = $1 AND seq = 2 AND chain = "
                   "(SELECT min(chain) FROM crm_audit WHERE tenant_id = $1 AND seq >= 3)") == 1);
    cc::AuditChainCheck altered = Verify(tenant);
    CHECK_FALSE(altered.intact);
    CHECK(altered.seq == 2);
    CHECK(altered.problem.find("altered") != std::string::npos);
    // A removal, on a fresh tenant.
    const std::string fresh = tenant + "-2";
    for (int i = 0; i < 12; ++i) {
        AsApp(fresh, [&](pqxx::work& tx) {
            return cc::AppendAudit(tx, Caller(fresh, 0), {"DeleteContact", "contact", "d"});
        });
    }
    REQUIRE(Verify(fresh).intact);
    REQUIRE(Verify(fresh).rows == 12);  // one request id: one chain, seq 1..12
    {
        pqxx::work tx(super);
        tx.exec("ALTER TABLE crm_audit DISABLE TRIGGER crm_audit_no_update");
        tx.exec_params("DELETE FROM crm_audit WHERE tenant_id = $1 AND seq = 5", fresh);
        tx.exec("ALTER TABLE crm_audit ENABLE TRIGGER crm_audit_no_update");
        tx.commit();
    }
    const cc::AuditChainCheck removed = Verify(fresh);
    CHECK_FALSE(removed.intact);
    CHECK(removed.seq == 6);
    CHECK(removed.problem.find("removed") != std::string::npos);
    // Not covered by the chain: removing the newest rows of a chain leaves a shorter chain that verifies (see
    // audit.hpp).
}
