#pragma once
// Pure rules of customer satisfaction (CSAT): the answer's checks, the report's period, and what the customer sees —
// the survey link in the solving reply's text and HTML parts and the survey's page.
#include <cstdint>
#include <string>
#include <string_view>

#include "crm/common/violations.hpp"

namespace crm::support::domain {

inline constexpr std::size_t kMaxCsatComment = 2000;
inline constexpr std::int64_t kMaxCsatReportSeconds = 366LL * 86400;
inline constexpr int kMinCsatScore = 1;
inline constexpr int kMaxCsatScore = 5;

// score 1..5 (field "score"); comment optional, at most kMaxCsatComment characters, line breaks allowed ("comment").
void CheckCsatAnswer(common::Violations& violations, int score, std::string_view comment);

// "day", "week" or "month" (PostgreSQL's date_trunc unit) of a report period; the default (0 or unknown) is "week".
std::string CsatPeriodUnit(int period);

// The solving reply's text part: the reply, then the survey question and its link.
std::string ReplyTextWithSurvey(std::string_view body, std::string_view survey_url);
// The HTML part: the reply's paragraphs (escaped, line breaks kept), then one link per score (url?score=n).
std::string ReplyHtmlWithSurvey(std::string_view body, std::string_view survey_url);

struct SurveyPage {
    std::string case_label;  // "CS-12"
    std::string subject;
    bool answered = false;
    int score = 0;  // the score given (answered) or preselected (0 = none)
};
// The survey's page (a complete HTML document): five scores and a comment box whose answer its script posts as JSON
// to the page's own URL; an answered survey shows the score given and takes nothing more.
std::string SurveyPageHtml(const SurveyPage& page);

}  // namespace crm::support::domain
