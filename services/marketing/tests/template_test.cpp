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

TEST_CASE("templates: the open pixel goes before the last closing body tag, or at the end") {
    const std::string url = "https://crm.example/o/abc.def?x=1&y=\"2\"";
    const std::string img =
        "<img src=\"https://crm.example/o/abc.def?x=1&amp;y=&quot;2&quot;\" width=\"1\" height=\"1\" alt=\"\" "
        "style=\"display:block;border:0;width:1px;height:1px\">";
    CHECK(AddOpenPixel("<html><BODY><p>Hi</p></BODY></html>", url) == "<html><BODY><p>Hi</p>" + img + "</BODY></html>");
    // A "</body>" quoted in the text before the real one does not attract the pixel.
    CHECK(AddOpenPixel("<body>write &lt;/body&gt; or </body> here</Body>", url) ==
          "<body>write &lt;/body&gt; or </body> here" + img + "</Body>");
    CHECK(AddOpenPixel("<p>fragment</p>", url) == "<p>fragment</p>" + img);
    CHECK(AddOpenPixel("", url) == img);
}
