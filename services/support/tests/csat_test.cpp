// Unit tests of CSAT's pure rules: the answer's checks, report periods, HTML escaping, the survey link in the reply's
// parts and the survey page.
#include "domain/csat.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace crm::support::domain;

namespace {
bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("csat: an answer is a score from 1 to 5 and an optional comment of at most 2000 characters") {
    for (int score = 1; score <= 5; ++score) {
        crm::common::Violations v;
        CheckCsatAnswer(v, score, "");
        CHECK(v.empty());
    }
    for (int score : {0, 6, -1, 100}) {
        crm::common::Violations v;
        CheckCsatAnswer(v, score, "fine");
        CHECK(v.size() == 1);
        CHECK(v.Has("score"));
    }
    crm::common::Violations ok;
    CheckCsatAnswer(ok, 4, "Quick answer.\nThank you!");
    CHECK(ok.empty());
    crm::common::Violations bad;
    CheckCsatAnswer(bad, 0, std::string("a\0b", 3));
    CHECK(bad.Has("score"));
    CHECK(bad.Has("comment"));
    crm::common::Violations utf8;
    CheckCsatAnswer(utf8, 3, "\xff\xfe");
    CHECK(utf8.Has("comment"));
    crm::common::Violations long_comment;
    CheckCsatAnswer(long_comment, 3, std::string(2001, 'x'));
    CHECK(long_comment.Has("comment"));
    crm::common::Violations max_comment;
    CheckCsatAnswer(max_comment, 3, std::string(2000, 'x'));
    CHECK(max_comment.empty());
}

TEST_CASE("csat: report periods are days, weeks (the default) or months") {
    CHECK(CsatPeriodUnit(1) == "day");
    CHECK(CsatPeriodUnit(2) == "week");
    CHECK(CsatPeriodUnit(3) == "month");
    CHECK(CsatPeriodUnit(0) == "week");
}

TEST_CASE("csat: the solving reply carries the survey link in its text and HTML parts") {
    const std::string url = "https://crm.example/csat/abc.def";
    const std::string text = ReplyTextWithSurvey("Fixed: restart the router.\n\n", url);
    CHECK(text.rfind("Fixed: restart the router.\n\n--\n", 0) == 0);
    CHECK(Contains(text, url + "\n"));
    const std::string html = ReplyHtmlWithSurvey("Line <1>\nLine & 2", url);
    CHECK(Contains(html, "Line &lt;1&gt;<br>\nLine &amp; 2"));
    for (int score = 1; score <= 5; ++score) {
        CHECK(Contains(html, "<a href=\"" + url + "?score=" + std::to_string(score) + "\">"));
    }
    CHECK_FALSE(Contains(html, "<1>"));
}

TEST_CASE("csat: the survey page offers five scores, escapes the subject and shows an answer given") {
    SurveyPage page{.case_label = "CS-7", .subject = "Printer <script>alert(1)</script>", .score = 4};
    const std::string open = SurveyPageHtml(page);
    CHECK(Contains(open, "CS-7: Printer &lt;script&gt;alert(1)&lt;/script&gt;"));
    CHECK_FALSE(Contains(open, "<script>alert"));
    for (int score = 1; score <= 5; ++score) {
        CHECK(Contains(open, "value=\"" + std::to_string(score) + "\""));
    }
    CHECK(Contains(open, "value=\"4\" checked"));
    CHECK_FALSE(Contains(open, "value=\"3\" checked"));
    CHECK(Contains(open, "method: 'POST'"));
    CHECK(Contains(open, "maxlength=\"2000\""));

    page.answered = true;
    page.score = 2;
    const std::string done = SurveyPageHtml(page);
    CHECK(Contains(done, "you rated our answer 2 of 5"));
    CHECK_FALSE(Contains(done, "<form"));
}
