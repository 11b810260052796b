// Email templates: parsing with every problem named, safe rendering (HTML escaping, no template injection, no header
// injection), link extraction and replacement.
#include "domain/template.hpp"

#include <catch2/catch.hpp>

using namespace crm::marketing::domain;

TEST_CASE("templates: merge fields with defaults, escaped in HTML, never parsed twice") {
    crm::common::Violations v;
    const ParsedTemplate html =
        ParseTemplate("<p>Hi {{contact.given_name | default:\"there\"}}, from {{ campaign.name }}</p>", "t.html", v);
    REQUIRE(v.empty());
    const std::map<std::string, std::string> hostile = {{"contact.given_name", "<script>{{unsubscribe_url}}</script>"},
                                                        {"campaign.name", "A & \"B\""}};
    CHECK(Render(html, hostile, Escape::kHtml) ==
          "<p>Hi &lt;script&gt;{{unsubscribe_url}}&lt;/script&gt;, from A &amp; &quot;B&quot;</p>");
    CHECK(Render(html, {}, Escape::kHtml) == "<p>Hi there, from </p>");
    CHECK(Render(html, {{"contact.given_name", ""}}, Escape::kNone) == "<p>Hi there, from </p>");
    const ParsedTemplate subject = ParseTemplate("News for {{contact.given_name}}", "t.subject", v);
    CHECK(Render(subject, {{"contact.given_name", "Ada\r\nBcc: x@example.com"}}, Escape::kHeader) ==
          "News for Ada  Bcc: x@example.com");
}

TEST_CASE("templates: unknown fields, unclosed braces and bad filters are named") {
    crm::common::Violations v;
    ParseTemplate("{{contact.password}}", "a", v);
    ParseTemplate("Hello {{contact.email", "b", v);
    ParseTemplate("{{contact.email | upper}}", "c", v);
    ParseTemplate("{{contact.email | default:\"x\"\"}}", "d", v);
    CHECK(v.Has("a"));
    CHECK(v.Has("b"));
    CHECK(v.Has("c"));
    CHECK(v.Has("d"));
    crm::common::Violations fine;
    ParseTemplate("no fields at all { } }}", "e", fine);
    CHECK(fine.empty());
}

TEST_CASE("templates: links are found and replaced") {
    const std::string html =
        R"(<a href="https://example.com/a">A</a> <a href="mailto:x@example.com">m</a> <a href="https://example.com/a">again</a> <a href="http://b.example/">B</a>)";
    CHECK(LinksOf(html) == std::vector<std::string>{"https://example.com/a", "http://b.example/"});
    CHECK(
        ReplaceLinks(html, {{"https://example.com/a", "https://t/r/1"}}) ==
        R"(<a href="https://t/r/1">A</a> <a href="mailto:x@example.com">m</a> <a href="https://t/r/1">again</a> <a href="http://b.example/">B</a>)");
}
