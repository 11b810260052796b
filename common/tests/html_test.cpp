#include "crm/common/html.hpp"

#include <catch2/catch.hpp>
#include <string>

using crm::common::HtmlEscape;

TEST_CASE("html: the five special characters become references, everything else passes unchanged") {
    CHECK(HtmlEscape("<a href=\"x\">O'Neil & co</a>") == "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;");
    CHECK(HtmlEscape("plain ü 日本") == "plain ü 日本");
    CHECK(HtmlEscape("") == "");
    CHECK(HtmlEscape("&amp;") == "&amp;amp;");  // escaping twice shows: callers escape once, at output
    CHECK(HtmlEscape(std::string("a\0b", 3)) == std::string("a\0b", 3));
}
