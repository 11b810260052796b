#include "domain/merge.hpp"

#include <catch2/catch.hpp>

using namespace crm::contacts::domain;
using std::chrono::seconds;

namespace {

Timestamp At(long long unix_seconds) { return Timestamp(seconds(unix_seconds)); }

EmailConsent Consent(ConsentStatus status, long long at, std::string source = "form") {
    return {.status = status, .change_time = At(at), .source = std::move(source)};
}

}  // namespace

TEST_CASE("survivor keeps non-empty fields, empty ones come from losers in order", "[merge]") {
    MergeInput survivor;
    survivor.fields.given_name = "John";
    survivor.fields.email = "john@acme.com";
    MergeInput first;
    first.fields.given_name = "Jonathan";
    first.fields.family_name = "Smith";
    first.fields.email = "jsmith@old.com";
    first.fields.owner_id = "user-1";
    MergeInput second;
    second.fields.family_name = "Smyth";
    second.fields.phone = "+14155552671";
    second.fields.job_title = "CTO";
    second.fields.company_id = "7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01";
    second.fields.owner_id = "user-2";

    const MergeInput merged = MergeContacts(survivor, {first, second});
    CHECK(merged.fields.given_name == "John");
    CHECK(merged.fields.family_name == "Smith");
    CHECK(merged.fields.email == "john@acme.com");
    CHECK(merged.fields.phone == "+14155552671");
    CHECK(merged.fields.job_title == "CTO");
    CHECK(merged.fields.company_id == "7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01");
    CHECK(merged.fields.owner_id == "user-1");
}

TEST_CASE("tags are the union, survivor's first", "[merge]") {
    MergeInput survivor;
    survivor.fields.tags = {"vip", "emea"};
    MergeInput a;
    a.fields.tags = {"emea", "b2b"};
    MergeInput b;
    b.fields.tags = {"b2b", "newsletter", "vip"};
    CHECK(MergeContacts(survivor, {a, b}).fields.tags == std::vector<std::string>{"vip", "emea", "b2b", "newsletter"});
}

TEST_CASE("tags and custom fields stay within their limits", "[merge]") {
    MergeInput survivor;
    MergeInput loser;
    for (int i = 0; i < 40; ++i) survivor.fields.tags.push_back("s" + std::to_string(i));
    for (int i = 0; i < 40; ++i) loser.fields.tags.push_back("l" + std::to_string(i));
    for (int i = 0; i < 80; ++i) survivor.fields.custom_fields.emplace("s" + std::to_string(i), "x");
    for (int i = 0; i < 80; ++i) loser.fields.custom_fields.emplace("l" + std::to_string(i), "x");
    const MergeInput merged = MergeContacts(survivor, {loser});
    CHECK(merged.fields.tags.size() == limits::kMaxTags);
    CHECK(merged.fields.custom_fields.size() == limits::kMaxCustomFields);
}

TEST_CASE("custom fields: survivor's, plus keys only losers have", "[merge]") {
    MergeInput survivor;
    survivor.fields.custom_fields = {{"size", "10"}, {"tier", "gold"}};
    MergeInput a;
    a.fields.custom_fields = {{"size", "99"}, {"region", "emea"}};
    MergeInput b;
    b.fields.custom_fields = {{"region", "apac"}, {"vip", "true"}};
    CHECK(MergeContacts(survivor, {a, b}).fields.custom_fields ==
          CustomFields{{"size", "10"}, {"tier", "gold"}, {"region", "emea"}, {"vip", "true"}});
}

TEST_CASE("consent: the most recent change wins", "[merge]") {
    MergeInput survivor;
    survivor.consent = Consent(ConsentStatus::kOptedOut, 100, "unsubscribe_link");
    MergeInput newer;
    newer.consent = Consent(ConsentStatus::kOptedIn, 200, "web_form");
    MergeInput older;
    older.consent = Consent(ConsentStatus::kOptedIn, 50);
    CHECK(MergeContacts(survivor, {older, newer}).consent == newer.consent);
    CHECK(MergeContacts(survivor, {older}).consent == survivor.consent);
}

TEST_CASE("consent: opt-out beats opt-in at the same time", "[merge]") {
    MergeInput in;
    in.consent = Consent(ConsentStatus::kOptedIn, 100, "a");
    MergeInput out;
    out.consent = Consent(ConsentStatus::kOptedOut, 100, "b");
    CHECK(MergeContacts(in, {out}).consent == out.consent);
    CHECK(MergeContacts(out, {in}).consent == out.consent);
    // A full tie keeps the survivor's.
    MergeInput in_too;
    in_too.consent = Consent(ConsentStatus::kOptedIn, 100, "c");
    CHECK(MergeContacts(in, {in_too}).consent.source == "a");
}

TEST_CASE("consent: unknown never replaces a recorded status", "[merge]") {
    MergeInput known;
    known.consent = Consent(ConsentStatus::kOptedIn, 100);
    MergeInput unknown;
    unknown.consent = EmailConsent{.status = ConsentStatus::kUnknown, .change_time = At(999), .source = ""};
    CHECK(MergeContacts(known, {unknown}).consent == known.consent);
    CHECK(MergeContacts(unknown, {known}).consent == known.consent);
    CHECK(MergeContacts(MergeInput{}, {MergeInput{}}).consent.status == ConsentStatus::kUnknown);
}

TEST_CASE("merging nothing returns the survivor unchanged", "[merge]") {
    MergeInput survivor;
    survivor.fields.given_name = "Ann";
    survivor.fields.tags = {"a"};
    survivor.consent = Consent(ConsentStatus::kOptedIn, 5);
    CHECK(MergeContacts(survivor, {}) == survivor);
}
