#pragma once
// Text placed into HTML that the suite writes (e-mail bodies, survey pages, templates' merge values).
#include <string>
#include <string_view>

namespace crm::common {

// `text` with & < > " ' replaced by their character references: safe inside element content and quoted attribute
// values. Other bytes (UTF-8 included) pass unchanged.
std::string HtmlEscape(std::string_view text);

}  // namespace crm::common
