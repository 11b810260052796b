#pragma once

#include <string>
#include <string_view>
#include <vector>

// Normalizers for the values contacts are matched and searched on. Each returns the stored form or a short English
// error ("is not a valid email address") that the caller puts into a FieldViolation.
namespace crm::contacts::domain {

struct Normalized {
    std::string value;  // the normalized form when ok()
    std::string error;  // why the input was rejected; empty when ok()

    bool ok() const { return error.empty(); }
};

// Trims and lowercases, then requires a plain ASCII addr-spec: exactly one '@'; a local part of 1..64 characters from
// letters, digits and !#$%&'*+/=?^_`{|}~.- without a leading, trailing or doubled dot; a domain name of at least two
// dot-separated labels (letters, digits, inner hyphens; 1..63 each) whose last label is not all digits;
// at most 254 characters in total. Quoted local parts, comments and IP literals are rejected.
Normalized NormalizeEmail(std::string_view input);

// Returns E.164 ("+14155552671"). Accepts digits with the separators space . - ( ) and a leading '+' or "00" for the
// international prefix. A number without either is national and needs default_calling_code (1 to 3 digits, e.g.
// "1", "44"); one national trunk '0' is dropped (except for Italy, "39", where it belongs to the number) and for
// "1" an 11-digit national number starting with 1 loses that 1. The result must have 8 to 15 digits and must not
// start with 0. Letters (also "ext."/"x" extensions) are rejected.
Normalized NormalizePhone(std::string_view input, std::string_view default_calling_code = {});

// True for 1 to 3 digits not starting with 0.
bool IsValidCallingCode(std::string_view code);

// The form names are matched on: whitespace collapsed, lowercased, Latin diacritics folded ("José Müller" → "jose
// muller"). Used for both the single name columns and the full name.
std::string NormalizeName(std::string_view name);

// NormalizeName(given + " " + family); empty when both are empty.
std::string NormalizeFullName(std::string_view given_name, std::string_view family_name);

// Strips scheme, user info, port, path, query, fragment, a trailing dot and a leading "www.", lowercases, and requires
// a valid host name of at least two labels ("HTTPS://www.Example.COM:443/about?x" → "example.com").
Normalized NormalizeWebDomain(std::string_view input);

// Collapses whitespace and lowercases ASCII; requires 1..64 characters, each an ASCII letter or digit, a space, one of
// _ - . : / or any non-ASCII character other than a control character (so "café", "vip:gold" and "b2b/emea" are fine).
Normalized NormalizeTag(std::string_view input);

// One term of a search query.
struct SearchTerm {
    std::string text;          // NormalizeName() of the term: matched as a prefix of names and email
    std::string phone_prefix;  // "+<digits>" when the query is a phone number, matched as a prefix of the phone
};

// Splits a search query into terms. A query made only of digits, spaces and + . - ( ) with at least one digit is one
// phone term (a leading "00" counts as '+'); otherwise each whitespace-separated word with at least one letter or
// digit is a text term (so "Smith - Jones" has two terms). At most
// limits::kMaxSearchTerms terms are returned (the rest are ignored); empty for a blank query.
std::vector<SearchTerm> ParseSearchQuery(std::string_view query);

// Exclusive upper bound of the strings that start with prefix under byte-wise (text_pattern_ops) ordering: the
// prefix followed by U+10FFFF, the largest code point. Prefix search is written as
// `col ~>=~ prefix AND col ~<~ PrefixUpperBound(prefix)` because, unlike LIKE, these operators are leakproof and so
// can use an index under row-level security.
std::string PrefixUpperBound(std::string_view prefix);

}  // namespace crm::contacts::domain
