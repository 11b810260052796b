#include "domain/suppression.hpp"

#include <catch2/catch.hpp>

#include "crm/common/crypto.hpp"

using crm::marketing::domain::SuppressionHasher;

TEST_CASE("marketing suppression hash: keyed per tenant, stable, never an address", "[marketing][domain]") {
    const std::string key(32, 'k');
    const std::string h = SuppressionHasher(key, "t1")("ada@example.com");
    CHECK(h.rfind("hmac-sha256:", 0) == 0);
    CHECK(h.size() == 12 + 64);
    CHECK(h.find('@') == std::string::npos);
    CHECK(h.find("ada") == std::string::npos);
    CHECK(SuppressionHasher(key, "t1")("ada@example.com") == h);  // the same address finds its suppression
    CHECK(SuppressionHasher(key, "t2")("ada@example.com") != h);  // another tenant's differs
    CHECK(SuppressionHasher(std::string(32, 'x'), "t1")("ada@example.com") != h);  // another key's differs
    CHECK(SuppressionHasher(key, "t1")("bob@example.com") != h);
    // Not a bare hash of the address: without the key, the address does not give the stored value.
    CHECK(h.substr(12) != crm::common::HexEncode(crm::common::Sha256("ada@example.com")));
}
