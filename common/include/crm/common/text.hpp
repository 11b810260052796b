#pragma once

#include <cstddef>
#include <string>
#include <string_view>

// Small UTF-8 text helpers shared by the validators and normalizers of every service. Pure: no gRPC, no database.
// Input is expected to be valid UTF-8 (CheckText in validate.hpp refuses anything else at the edge); an invalid byte
// is treated as one code point U+FFFD, so nothing here throws or reads past the end.
namespace crm::common::text {

// Number of code points.
std::size_t Utf8Length(std::string_view s);

// True for ASCII whitespace (space, \t, \n, \v, \f, \r).
bool IsAsciiSpace(char c);

// Removes leading and trailing ASCII whitespace and no-break spaces (U+00A0).
std::string Trim(std::string_view s);

// Trim() plus every inner run of whitespace (ASCII or U+00A0) replaced by one space.
std::string CollapseWhitespace(std::string_view s);

// Lowercases A-Z only; other bytes are copied unchanged.
std::string AsciiLower(std::string_view s);

// True when s is well-formed UTF-8: no stray continuation bytes, no truncated or overlong sequences, no UTF-16
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);

// True when s contains a C0 control character (NUL included), DEL, or a C1 control (U+0080..U+009F). With
// allow_line_breaks, tab, line feed and carriage return are allowed (multi-line text such as notes).
bool HasControlCharacters(std::string_view s, bool allow_line_breaks = false);

// Form used to compare names: CollapseWhitespace, lowercase, and Latin diacritics folded to ASCII
// ("  José   MÜLLER " → "jose muller", "Straße" → "strasse", "Łódź" → "lodz", "Ærø" → "aero"). Combining marks
// (U+0300..U+036F) are dropped, so decomposed input folds the same way. Letters of other scripts are kept as they are.
std::string FoldForMatching(std::string_view s);

}  // namespace crm::common::text
