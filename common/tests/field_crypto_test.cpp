#include "crm/common/field_crypto.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <vector>

#include "crm/common/crypto.hpp"

using namespace crm::common::privacy;
using crm::common::Base64UrlEncode;

namespace {

std::string Key(char fill) { return Base64UrlEncode(std::string(32, fill)); }

const SealContext kEmail{"tenant-a", "subject-1", "contact.email"};

}  // namespace

TEST_CASE("privacy keyring: parses versions, refuses bad entries without quoting keys") {
    const Keyring ring = Keyring::Parse("v1:" + Key('a') + ",v3:" + Key('b'));
    CHECK(ring.current_version() == 3);
    CHECK(ring.has_version(1));
    CHECK_FALSE(ring.has_version(2));
    for (const std::string& bad : std::vector<std::string>{
             std::string(), "v1", "1:" + Key('a'), "v0:" + Key('a'), "vx:" + Key('a'), "v1:not*base64",
             "v1:" + Base64UrlEncode(std::string(16, 'a')), "v1:" + Key('a') + ",v1:" + Key('b')}) {
        INFO(bad);
        try {
            Keyring::Parse(bad);
            FAIL("accepted");
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find(Key('a')) == std::string::npos);
        }
    }
}

TEST_CASE("privacy keyring: tenants get different keys, stable for the same tenant and version") {
    const Keyring ring = Keyring::Parse("v1:" + Key('a') + ",v2:" + Key('b'));
    CHECK(ring.TenantKek("t1", 1) == ring.TenantKek("t1", 1));
    CHECK(ring.TenantKek("t1", 1) != ring.TenantKek("t2", 1));
    CHECK(ring.TenantKek("t1", 1) != ring.TenantKek("t1", 2));
    CHECK(ring.TenantKek("t1", 1).size() == 32);
    CHECK(ring.TenantIndexKey("t1") != ring.TenantKek("t1", 1));
    CHECK_THROWS_AS(ring.TenantKek("t1", 7), std::out_of_range);
}

TEST_CASE("privacy seal: a value opens only with its key, tenant, subject and field") {
    const std::string key = NewDataKey();
    const std::string sealed = Seal(key, kEmail, "ada@example.com");
    CHECK(IsSealed(sealed));
    CHECK(sealed.find("ada") == std::string::npos);
    CHECK(Open(key, kEmail, sealed) == "ada@example.com");
    CHECK(Seal(key, kEmail, "ada@example.com") != sealed);  // a fresh nonce every time
    CHECK_THROWS_AS(Open(NewDataKey(), kEmail, sealed), SealError);
    CHECK_THROWS_AS(Open(key, {"tenant-b", "subject-1", "contact.email"}, sealed), SealError);
    CHECK_THROWS_AS(Open(key, {"tenant-a", "subject-2", "contact.email"}, sealed), SealError);
    CHECK_THROWS_AS(Open(key, {"tenant-a", "subject-1", "contact.phone"}, sealed), SealError);
    // Context parts are framed: moving a character from one part to the next is another context.
    CHECK_THROWS_AS(Open(key, {"tenant-a", "subject-1contact.", "email"}, sealed), SealError);
}

TEST_CASE("privacy seal: altered, truncated or foreign values are refused - empty stays empty") {
    const std::string key = NewDataKey();
    const std::string sealed = Seal(key, kEmail, "Grace Hopper, 555-0100");
    std::string flipped = sealed;
    flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
    CHECK_THROWS_AS(Open(key, kEmail, flipped), SealError);
    CHECK_THROWS_AS(Open(key, kEmail, sealed.substr(0, sealed.size() - 4)), SealError);
    CHECK_THROWS_AS(Open(key, kEmail, "pv1."), SealError);
    CHECK_THROWS_AS(Open(key, kEmail, "pv1.***"), SealError);
    CHECK_THROWS_AS(Open(key, kEmail, "plain text"), SealError);
    CHECK(Seal(key, kEmail, "").empty());
    CHECK(Open(key, kEmail, "").empty());
    const std::string binary("a\0b\xff", 4);
    CHECK(Open(key, kEmail, Seal(key, kEmail, binary)) == binary);
}

TEST_CASE("privacy data keys: wrapped under the current master key, unwrapped after a rotation, bound to subject") {
    const Keyring before = Keyring::Parse("v1:" + Key('a'));
    const Keyring after = Keyring::Parse("v1:" + Key('a') + ",v2:" + Key('b'));
    const Keyring retired = Keyring::Parse("v2:" + Key('b'));
    const std::string data_key = NewDataKey();
    const WrappedKey old_wrap = WrapDataKey(before, "t1", "s1", data_key);
    CHECK(old_wrap.kek_version == 1);
    CHECK(old_wrap.bytes.find(data_key) == std::string::npos);
    CHECK(UnwrapDataKey(after, "t1", "s1", old_wrap) == data_key);         // still readable after the rotation
    const WrappedKey new_wrap = WrapDataKey(after, "t1", "s1", data_key);  // the rewrap
    CHECK(new_wrap.kek_version == 2);
    CHECK(UnwrapDataKey(retired, "t1", "s1", new_wrap) == data_key);
    CHECK_THROWS_AS(UnwrapDataKey(retired, "t1", "s1", old_wrap), std::out_of_range);
    CHECK_THROWS_AS(UnwrapDataKey(after, "t2", "s1", old_wrap), SealError);
    CHECK_THROWS_AS(UnwrapDataKey(after, "t1", "s2", old_wrap), SealError);
    CHECK_THROWS_AS(WrapDataKey(after, "t1", "s1", "short"), std::invalid_argument);
}

TEST_CASE("privacy blind index: equal values match within a tenant and field, nowhere else, across rotations") {
    const Keyring ring = Keyring::Parse("v1:" + Key('a'));
    const Keyring rotated = Keyring::Parse("v1:" + Key('a') + ",v2:" + Key('b'));
    const std::string h = BlindIndex(ring, "t1", "email", "ada@example.com");
    CHECK(h.size() == 64);
    CHECK(h == BlindIndex(rotated, "t1", "email", "ada@example.com"));
    CHECK(h != BlindIndex(ring, "t2", "email", "ada@example.com"));
    CHECK(h != BlindIndex(ring, "t1", "phone", "ada@example.com"));
    CHECK(h != BlindIndex(ring, "t1", "email", "ada@example.org"));
    CHECK(BlindIndex(ring, "t1", "email", "").empty());
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(BlindIndex(ring, "t1", "email", "p" + std::to_string(i) + "@x.example"));
    CHECK(seen.size() == 1000);
}
