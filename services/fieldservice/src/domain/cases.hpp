#pragma once
// Pure rules of work orders made from support cases: what the work order of a case is called and how text from a
// case (whose limits are support's) is cut to this service's limits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace crm::fieldservice::domain {

// The longest prefix of `text` (valid UTF-8) with at most `max_chars` code points; a cut removes trailing white space.
std::string CutText(std::string_view text, std::size_t max_chars);

// "CS-<number>: <subject>" within the title limit (200 characters); "CS-<number>" for an empty subject; without a
// number (0) the subject alone, or "Support case" when both are missing.
std::string CaseWorkOrderTitle(std::int64_t case_number, std::string_view subject);

}  // namespace crm::fieldservice::domain
