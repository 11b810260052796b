#pragma once
// A PostgreSQL text[] literal for a bound parameter ("{\"a\",\"b \\\"c\\\"\"}"), for drivers that cannot bind arrays
// (libpqxx 6). Every element is quoted and escaped, so commas, braces, quotes, backslashes and the word NULL stay
// text. Elements must not contain NUL (the kit's text checks refuse it before anything reaches SQL).
#include <string>
#include <vector>

namespace crm::common {

std::string PgTextArray(const std::vector<std::string>& values);

}  // namespace crm::common
