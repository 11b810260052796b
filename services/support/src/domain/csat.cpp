#include "domain/csat.hpp"

#include "crm/common/html.hpp"
#include "crm/common/validate.hpp"

namespace crm::support::domain {

using common::HtmlEscape;

void CheckCsatAnswer(common::Violations& violations, int score, std::string_view comment) {
    if (score < kMinCsatScore || score > kMaxCsatScore) {
        violations.Add("score", "must be 1 (very dissatisfied) to 5 (very satisfied)");
    }
    common::CheckText(violations, comment, "comment", {.max_chars = kMaxCsatComment, .multiline = true});
}

std::string CsatPeriodUnit(int period) {
    switch (period) {
        case 1:
            return "day";
        case 3:
            return "month";
        default:
            return "week";
    }
}

std::string ReplyTextWithSurvey(std::string_view body, std::string_view survey_url) {
    std::string out(body);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    out += "\n\n--\nHow satisfied are you with our answer? Rate it from 1 to 5 here:\n";
    out += survey_url;
    out += "\n";
    return out;
}

std::string ReplyHtmlWithSurvey(std::string_view body, std::string_view survey_url) {
    std::string out = "<!DOCTYPE html><html><body><p>";
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (c == '\r') continue;
        if (c == '\n') {
            out += "<br>\n";
            continue;
        }
        out += HtmlEscape(std::string_view(&body[i], 1));
    }
    out += "</p>\n<hr>\n<p>How satisfied are you with our answer?</p>\n<p>";
    const std::string url = HtmlEscape(survey_url);
    static constexpr const char* kLabels[] = {"", "1 - very dissatisfied", "2", "3", "4", "5 - very satisfied"};
    for (int score = kMinCsatScore; score <= kMaxCsatScore; ++score) {
        out += "<a href=\"" + url + "?score=" + std::to_string(score) + "\">" + kLabels[score] + "</a>";
        out += score < kMaxCsatScore ? " | " : "";
    }
    out += "</p>\n</body></html>\n";
    return out;
}

std::string SurveyPageHtml(const SurveyPage& page) {
    std::string out =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex\"><title>How did we do?</title></head>\n<body>\n";
    out += "<h1>How did we do?</h1>\n<p>Your request " + HtmlEscape(page.case_label) + ": " + HtmlEscape(page.subject) +
           "</p>\n";
    if (page.answered) {
        out += "<p id=\"done\">Thank you: you rated our answer " + std::to_string(page.score) + " of 5.</p>\n";
        return out + "</body></html>\n";
    }
    out += "<form id=\"survey\">\n<fieldset><legend>Your rating</legend>\n";
    for (int score = kMinCsatScore; score <= kMaxCsatScore; ++score) {
        const std::string s = std::to_string(score);
        out += "<label><input type=\"radio\" name=\"score\" value=\"" + s + "\"" +
               (page.score == score ? " checked" : "") + " required> " + s + "</label>\n";
    }
    out +=
        "</fieldset>\n<p><label for=\"comment\">Anything to add? (optional)</label><br>"
        "<textarea id=\"comment\" name=\"comment\" maxlength=\"" +
        std::to_string(kMaxCsatComment) +
        "\" rows=\"5\" cols=\"60\"></textarea></p>\n<p><button type=\"submit\">Send</button></p>\n"
        "<p id=\"result\" role=\"status\"></p>\n</form>\n"
        "<script>\n"
        "document.getElementById('survey').addEventListener('submit', async (e) => {\n"
        "  e.preventDefault();\n"
        "  const f = e.target;\n"
        "  const body = {score: Number(f.score.value), comment: f.comment.value};\n"
        "  const r = await fetch(window.location.pathname, {method: 'POST',\n"
        "    headers: {'content-type': 'application/json'}, body: JSON.stringify(body)});\n"
        "  const out = document.getElementById('result');\n"
        "  if (r.ok) { f.querySelector('fieldset').disabled = true; f.comment.disabled = true;\n"
        "    f.querySelector('button').disabled = true; out.textContent = 'Thank you for your answer.'; }\n"
        "  else { const j = await r.json().catch(() => ({})); out.textContent = j.message || 'Please try again.'; }\n"
        "});\n"
        "</script>\n";
    return out + "</body></html>\n";
}

}  // namespace crm::support::domain
