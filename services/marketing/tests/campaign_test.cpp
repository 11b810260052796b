// Pure rules of campaigns: life cycle, dates, UTM values and tracked-link URLs.
#include "domain/campaign.hpp"

#include <catch2/catch.hpp>

using namespace crm::marketing::domain;

TEST_CASE("campaign status life cycle") {
    using S = CampaignStatus;
    CHECK(CanTransition(S::kPlanned, S::kActive));
    CHECK(CanTransition(S::kPlanned, S::kAborted));
    CHECK(CanTransition(S::kActive, S::kCompleted));
    CHECK(CanTransition(S::kActive, S::kAborted));
    CHECK(CanTransition(S::kCompleted, S::kCompleted));
    CHECK_FALSE(CanTransition(S::kPlanned, S::kCompleted));
    CHECK_FALSE(CanTransition(S::kActive, S::kPlanned));
    CHECK_FALSE(CanTransition(S::kCompleted, S::kActive));
    CHECK_FALSE(CanTransition(S::kAborted, S::kPlanned));
    CHECK(IsFinal(S::kAborted));
    CHECK_FALSE(IsFinal(S::kActive));
    for (S s : {S::kPlanned, S::kActive, S::kCompleted, S::kAborted}) CHECK(ParseStatus(StatusText(s)) == s);
    CHECK_FALSE(ParseStatus("planned"));
}

TEST_CASE("dates are exact calendar days in the suite's range") {
    CHECK(ParseDate("1970-01-01") == 0);
    CHECK(ParseDate("2024-02-29") == 19782);
    CHECK_FALSE(ParseDate("2023-02-29"));
    CHECK_FALSE(ParseDate("1900-02-29"));
    CHECK(ParseDate("2000-02-29"));
    CHECK_FALSE(ParseDate("1899-12-31"));
    CHECK(ParseDate("2199-12-31"));
    CHECK_FALSE(ParseDate("2200-01-01"));
    CHECK_FALSE(ParseDate("2024-1-01"));
    CHECK_FALSE(ParseDate("2024-13-01"));
    CHECK_FALSE(ParseDate("2024-04-31"));
    CHECK_FALSE(ParseDate("2024-04-0a"));
    crm::common::Violations v;
    CHECK_FALSE(CheckDate(v, "", "d"));
    CHECK(v.empty());
    CheckDate(v, "", "r", true);
    CheckDate(v, "31.12.2024", "x");
    CHECK(v.Has("r"));
    CHECK(v.Has("x"));
}

TEST_CASE("UTM values are lowercase tokens") {
    crm::common::Violations v;
    CHECK(CheckUtmValue(v, "NewsLetter", "a", true) == "newsletter");
    CHECK(CheckUtmValue(v, "spring_2026.v-2", "b", true) == "spring_2026.v-2");
    CHECK(v.empty());
    CheckUtmValue(v, "", "c", true);
    CheckUtmValue(v, "has space", "d", false);
    CheckUtmValue(v, "a&b=c", "e", false);
    CheckUtmValue(v, std::string(101, 'a'), "f", false);
    CHECK(v.Has("c"));
    CHECK(v.Has("d"));
    CHECK(v.Has("e"));
    CHECK(v.Has("f"));
    CHECK(CheckUtmValue(v, "", "g", false).empty());
    CHECK_FALSE(v.Has("g"));
}

TEST_CASE("the utm_campaign slug of a name") {
    CHECK(UtmSlug("Spring Launch 2026") == "spring-launch-2026");
    CHECK(UtmSlug("  --Büro & Co!! ") == "b-ro-co");
    CHECK(UtmSlug("***") == "campaign");
    CHECK(UtmSlug(std::string(300, 'x')).size() == 100);
}

TEST_CASE("destination URLs") {
    auto ok = [](const std::string& url) {
        crm::common::Violations v;
        return CheckDestinationUrl(v, url, "u") && v.empty();
    };
    CHECK(ok("https://example.com"));
    CHECK(ok("http://example.com:8080/a/b?x=1#top"));
    CHECK_FALSE(ok(""));
    CHECK_FALSE(ok("ftp://example.com"));
    CHECK_FALSE(ok("javascript:alert(1)"));
    CHECK_FALSE(ok("https://user:pw@example.com/"));
    CHECK_FALSE(ok("https:///path"));
    CHECK_FALSE(ok("https://exa mple.com"));
    CHECK_FALSE(ok("https://example.com/\"><script>"));
    CHECK_FALSE(ok(std::string("https://example.com/\0", 21)));
    CHECK_FALSE(ok("https://example.com/" + std::string(2000, 'a')));
}

TEST_CASE("UTM parameters are appended, replacing earlier ones, before the fragment") {
    const UtmParameters utm{.source = "newsletter", .medium = "email", .campaign = "spring", .content = "", .term = ""};
    CHECK(AppendUtm("https://example.com", utm) ==
          "https://example.com?utm_source=newsletter&utm_medium=email&utm_campaign=spring");
    CHECK(AppendUtm("https://example.com/p?a=1&UTM_SOURCE=old&b=2#frag", utm) ==
          "https://example.com/p?a=1&b=2&utm_source=newsletter&utm_medium=email&utm_campaign=spring#frag");
    UtmParameters full = utm;
    full.content = "hero";
    full.term = "crm";
    CHECK(AppendUtm("https://example.com/?", full) ==
          "https://example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content=hero&"
          "utm_term=crm");
}
