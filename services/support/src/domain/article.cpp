#include "domain/article.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/case.hpp"

namespace crm::support::domain {
namespace {

constexpr std::array<std::pair<ArticleState, const char*>, 4> kStates = {{{ArticleState::kDraft, "DRAFT"},
                                                                          {ArticleState::kInReview, "IN_REVIEW"},
                                                                          {ArticleState::kPublished, "PUBLISHED"},
                                                                          {ArticleState::kArchived, "ARCHIVED"}}};

// Languages with a Snowball configuration in every PostgreSQL since 13 (pg_ts_config).
constexpr std::array<std::pair<std::string_view, const char*>, 23> kConfigs = {{
    {"ar", "arabic"},    {"da", "danish"},     {"nl", "dutch"},      {"en", "english"},   {"fi", "finnish"},
    {"fr", "french"},    {"de", "german"},     {"el", "greek"},      {"hu", "hungarian"}, {"id", "indonesian"},
    {"ga", "irish"},     {"it", "italian"},    {"lt", "lithuanian"}, {"ne", "nepali"},    {"no", "norwegian"},
    {"nb", "norwegian"}, {"pt", "portuguese"}, {"ro", "romanian"},   {"ru", "russian"},   {"es", "spanish"},
    {"sv", "swedish"},   {"ta", "tamil"},      {"tr", "turkish"},
}};

bool Has(const std::vector<std::string>& paths, std::string_view path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

}  // namespace

const char* ArticleStateText(ArticleState state) {
    for (const auto& [s, text] : kStates) {
        if (s == state) return text;
    }
    return "DRAFT";
}

std::optional<ArticleState> ParseArticleState(std::string_view text) {
    for (const auto& [s, t] : kStates) {
        if (text == t) return s;
    }
    return std::nullopt;
}

bool ArticleTransitionAllowed(ArticleState from, ArticleState to) {
    using S = ArticleState;
    switch (from) {
        case S::kDraft:
            return to == S::kInReview || to == S::kArchived;
        case S::kInReview:
            return to == S::kDraft || to == S::kPublished || to == S::kArchived;
        case S::kPublished:
            return to == S::kArchived;
        case S::kArchived:
            return to == S::kDraft;
    }
    return false;
}

ArticleState EditedState(ArticleState state) {
    return state == ArticleState::kArchived ? ArticleState::kArchived : ArticleState::kDraft;
}

bool IsCategory(std::string_view c) {
    if (c.empty() || c.size() > kMaxCategory) return false;
    auto plain = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
    if (!plain(c.front())) return false;
    return std::all_of(c.begin(), c.end(), [&](char ch) { return plain(ch) || ch == '_' || ch == '-' || ch == '/'; });
}

common::Violations NormalizeArticle(ArticleFields& f, const std::string& prefix, bool create,
                                    const std::vector<std::string>& present) {
    common::Violations v;
    auto required = [&](std::string_view path) { return create || Has(present, path); };
    f.title = common::text::Trim(f.title);
    if (common::CheckText(v, f.title, prefix + "title", {.max_chars = kMaxArticleTitle})) {
        if (f.title.empty() && required("title")) v.Add(prefix + "title", "required: an article needs a title");
    }
    if (common::CheckText(v, f.body, prefix + "body", {.max_chars = kMaxArticleBody, .multiline = true})) {
        if (common::text::Trim(f.body).empty() && required("body")) {
            v.Add(prefix + "body", "required: an article needs a body");
        }
    }
    f.category = common::text::Trim(f.category);
    if (common::CheckText(v, f.category, prefix + "category", {.max_chars = kMaxCategory})) {
        std::string lowered = common::text::AsciiLower(f.category);
        if (!lowered.empty() && !IsCategory(lowered)) {
            v.Add(prefix + "category", "a slug: a-z or 0-9 first, then a-z, 0-9, '_', '-' or '/'");
        }
        f.category = lowered;
    }
    f.locale = common::text::Trim(f.locale);
    if (common::CheckToken(v, f.locale, prefix + "locale", kMaxLanguage)) {
        if (!f.locale.empty() && !IsLanguageTag(f.locale)) {
            v.Add(prefix + "locale", "a BCP 47 language tag such as \"en\" or \"de-CH\"");
        } else if (!f.locale.empty()) {
            f.locale = CanonicalLanguageTag(f.locale);
        } else if (create) {
            f.locale = kDefaultLocale;
        } else if (Has(present, "locale")) {
            v.Add(prefix + "locale", "required: an article has a locale");
        }
    }
    return v;
}

std::string SearchLanguage(std::string_view locale) {
    if (locale.empty()) return kDefaultLocale;
    return common::text::AsciiLower(locale.substr(0, locale.find('-')));
}

const char* SearchConfig(std::string_view language) {
    for (const auto& [lang, config] : kConfigs) {
        if (lang == language) return config;
    }
    return "simple";
}

}  // namespace crm::support::domain
