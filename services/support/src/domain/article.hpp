#pragma once
// Pure rules of the knowledge base: the article lifecycle, the checks of an article's fields and of search input, and
// the choice of PostgreSQL text-search configuration for a locale. No gRPC, protobuf or database here.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::support::domain {

// --- lifecycle ------------------------------------------------------------------------------------------------------
enum class ArticleState { kDraft, kInReview, kPublished, kArchived };
const char* ArticleStateText(ArticleState state);  // "DRAFT", "IN_REVIEW", "PUBLISHED", "ARCHIVED"
std::optional<ArticleState> ParseArticleState(std::string_view text);
// DRAFT → IN_REVIEW; IN_REVIEW → DRAFT or PUBLISHED; ARCHIVED from any other state; ARCHIVED → DRAFT. (Editing a
// PUBLISHED article's working copy brings it back to DRAFT: EditedState.)
bool ArticleTransitionAllowed(ArticleState from, ArticleState to);
// The state after an edit of the working copy: PUBLISHED and IN_REVIEW go back to DRAFT (the change must be reviewed
// and published again); DRAFT stays. ARCHIVED cannot be edited (callers refuse it first).
ArticleState EditedState(ArticleState state);

// --- fields ---------------------------------------------------------------------------------------------------------
inline constexpr std::size_t kMaxArticleTitle = 300;
inline constexpr std::size_t kMaxArticleBody = 100000;
inline constexpr std::size_t kMaxCategory = 100;
inline constexpr std::size_t kMaxSearchQuery = 500;
inline constexpr std::size_t kMaxCaseArticleLinks = 50;
inline constexpr char kDefaultLocale[] = "en";

struct ArticleFields {
    std::string title, body, category, locale;
};

// Trims title and category, lowercases the category, puts the locale in its canonical case, and returns every
// violation prefixed with `prefix` ("article."). create: title and body are required there (an update checks what it
// changes: `present` lists the fields it sets, and those must not become empty).
common::Violations NormalizeArticle(ArticleFields& fields, const std::string& prefix, bool create,
                                    const std::vector<std::string>& present = {});

// A category slug: [a-z0-9] then [a-z0-9_/-], at most kMaxCategory characters.
bool IsCategory(std::string_view category);

// --- search ---------------------------------------------------------------------------------------------------------
// The language of a locale for search: its primary subtag, lowercased ("de-CH" -> "de"); "en" for an empty locale.
std::string SearchLanguage(std::string_view locale);
// The PostgreSQL text-search configuration (a regconfig name) for a language: the Snowball stemmer of that language
// when PostgreSQL ships one (english, german, french, spanish, ...), else "simple" (lowercased words, no stemming,
// no stop words).
const char* SearchConfig(std::string_view language);

}  // namespace crm::support::domain
