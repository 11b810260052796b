#include "domain/cases.hpp"

namespace crm::fieldservice::domain {

std::string CutText(std::string_view text, std::size_t max_chars) {
    std::size_t chars = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (chars == max_chars) {
            std::string out(text.substr(0, i));
            while (!out.empty() &&
                   (out.back() == ' ' || out.back() == '\t' || out.back() == '\n' || out.back() == '\r')) {
                out.pop_back();
            }
            return out;
        }
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t width = 1;
        if (lead >= 0xF0) {
            width = 4;
        } else if (lead >= 0xE0) {
            width = 3;
        } else if (lead >= 0xC0) {
            width = 2;
        }
        i += width;
        ++chars;
    }
    return std::string(text);
}

std::string CaseWorkOrderTitle(std::int64_t case_number, std::string_view subject) {
    constexpr std::size_t kTitleChars = 200;
    if (case_number <= 0) return subject.empty() ? std::string("Support case") : CutText(subject, kTitleChars);
    const std::string prefix = "CS-" + std::to_string(case_number);
    if (subject.empty()) return prefix;
    return CutText(prefix + ": " + std::string(subject), kTitleChars);
}

}  // namespace crm::fieldservice::domain
