#pragma once

#include <cstddef>
#include <string>
#include <string_view>

// Small UTF-8 text helpers shared by the normalizers. Input is expected to be valid UTF-8 (protobuf guarantees it for
// proto3 strings); an invalid byte is treated as one code point U+FFFD, so nothing here throws or reads past the end.
namespace crm::contacts::domain::text {

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

// True when s contains a C0 control character, DEL, or a C1 control (U+0080..U+009F).
bool HasControlCharacters(std::string_view s);

// Form used to compare names: CollapseWhitespace, lowercase, and Latin diacritics folded to ASCII
// ("  José   MÜLLER " → "jose muller", "Straße" → "strasse", "Łódź" → "lodz", "Ærø" → "aero"). Combining marks
// (U+0300..U+036F) are dropped, so decomposed input folds the same way. Letters of other scripts are kept as they are.
std::string FoldForMatching(std::string_view s);

}  // namespace crm::contacts::domain::text
