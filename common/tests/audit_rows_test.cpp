#include <catch2/catch.hpp>

#include "crm/common/audit.hpp"
#include "crm/common/pg_array.hpp"

using crm::common::AuditRow;
using crm::common::AuditRowHash;
using crm::common::PgTextArray;
using crm::common::VerifyAuditRows;

namespace {

std::vector<AuditRow> Chain(int chain, int n) {
    std::vector<AuditRow> rows;
    std::string prev(32, '\0');
    for (int i = 1; i <= n; ++i) {
        AuditRow r;
        r.tenant_id = "t1";
        r.chain = chain;
        r.seq = i;
        r.occurred_us = 1700000000000000 + i;
        r.actor_user = "u";
        r.actor_roles = {"admin"};
        r.request_id = "req-" + std::to_string(i);
        r.rpc = "UpdateContact";
        r.resource_type = "contact";
        r.resource_id = "c1";
        r.outcome = "OK";
        r.changed_paths = {"email"};
        r.prev_hash = prev;
        r.row_hash = AuditRowHash(r, prev);
        prev = r.row_hash;
        rows.push_back(r);
    }
    return rows;
}

}  // namespace

TEST_CASE("pg text arrays: every element quoted and escaped") {
    CHECK(PgTextArray({}) == "{}");
    CHECK(PgTextArray({"a", "b c"}) == R"({"a","b c"})");
    CHECK(PgTextArray({R"(x"y\z)", "NULL", "{,}"}) == R"({"x\"y\\z","NULL","{,}"})");
}

TEST_CASE("audit rows: intact chains verify in any order - an edit, a removal or a swap is found") {
    auto rows = Chain(0, 5);
    for (auto& r : Chain(3, 4)) rows.push_back(r);
    std::reverse(rows.begin(), rows.end());
    CHECK(VerifyAuditRows(rows).intact);
    CHECK(VerifyAuditRows(rows).rows == 9);

    auto edited = Chain(0, 5);
    edited[2].changed_paths = {"phone"};
    auto check = VerifyAuditRows(edited);
    CHECK_FALSE(check.intact);
    CHECK(check.seq == 3);

    auto removed = Chain(0, 5);
    removed.erase(removed.begin() + 1);
    check = VerifyAuditRows(removed);
    CHECK_FALSE(check.intact);
    CHECK(check.seq == 3);

    // Fields are framed: moving text from one field to the next changes the hash.
    auto shifted = Chain(0, 2);
    shifted[1].resource_type = "contactc";
    shifted[1].resource_id = "1";
    CHECK_FALSE(VerifyAuditRows(shifted).intact);

    // A rebuilt row with a fresh hash still breaks the next row's link.
    auto rehashed = Chain(0, 3);
    rehashed[1].actor_user = "someone-else";
    rehashed[1].row_hash = AuditRowHash(rehashed[1], rehashed[1].prev_hash);
    check = VerifyAuditRows(rehashed);
    CHECK_FALSE(check.intact);
    CHECK(check.seq == 3);
}
