// Unit tests of the knowledge base's pure rules: the article lifecycle, field checks and normalization, and the
// text-search configuration of a locale.
#include "domain/article.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace crm::support::domain;

TEST_CASE("kb: the article lifecycle allows review, publication, archiving and restoring only") {
    using S = ArticleState;
    CHECK(ArticleTransitionAllowed(S::kDraft, S::kInReview));
    CHECK(ArticleTransitionAllowed(S::kInReview, S::kPublished));
    CHECK(ArticleTransitionAllowed(S::kInReview, S::kDraft));
    CHECK(ArticleTransitionAllowed(S::kPublished, S::kArchived));
    CHECK(ArticleTransitionAllowed(S::kDraft, S::kArchived));
    CHECK(ArticleTransitionAllowed(S::kArchived, S::kDraft));
    CHECK_FALSE(ArticleTransitionAllowed(S::kDraft, S::kPublished));  // no publication without review
    CHECK_FALSE(ArticleTransitionAllowed(S::kPublished, S::kInReview));
    CHECK_FALSE(ArticleTransitionAllowed(S::kPublished, S::kDraft));  // an edit does that, not a state change
    CHECK_FALSE(ArticleTransitionAllowed(S::kArchived, S::kPublished));
    CHECK(EditedState(S::kPublished) == S::kDraft);
    CHECK(EditedState(S::kInReview) == S::kDraft);
    CHECK(EditedState(S::kDraft) == S::kDraft);
    for (S s : {S::kDraft, S::kInReview, S::kPublished, S::kArchived}) {
        CHECK(ParseArticleState(ArticleStateText(s)) == s);
    }
    CHECK_FALSE(ParseArticleState("published"));
}

TEST_CASE("kb: article fields are trimmed, the category lowercased and the locale canonical") {
    ArticleFields f{.title = "  Reset your password ",
                    .body = "Go to settings.\nClick reset.",
                    .category = " Account/Login ",
                    .locale = "en-gb"};
    const auto v = NormalizeArticle(f, "article.", true);
    CHECK(v.empty());
    CHECK(f.title == "Reset your password");
    CHECK(f.category == "account/login");
    CHECK(f.locale == "en-GB");
    ArticleFields empty_locale{.title = "t", .body = "b"};
    CHECK(NormalizeArticle(empty_locale, "article.", true).empty());
    CHECK(empty_locale.locale == "en");  // the default on create
}

TEST_CASE("kb: bad article fields are named, each one") {
    ArticleFields f{.title = std::string("a\0b", 3), .body = "", .category = "-bad slug", .locale = "not a tag"};
    const auto v = NormalizeArticle(f, "article.", true);
    CHECK(v.Has("article.title"));
    CHECK(v.Has("article.body"));
    CHECK(v.Has("article.category"));
    CHECK(v.Has("article.locale"));
    ArticleFields long_title{.title = std::string(301, 'x'), .body = std::string(100001, 'y')};
    const auto w = NormalizeArticle(long_title, "article.", true);
    CHECK(w.Has("article.title"));
    CHECK(w.Has("article.body"));
    ArticleFields bad_utf8{.title = "\xC3\x28", .body = "ok", .category = "\xFF"};
    const auto u = NormalizeArticle(bad_utf8, "article.", true);
    CHECK(u.Has("article.title"));
    CHECK(u.Has("article.category"));
    ArticleFields line_break{.title = "one\ntwo", .body = "one\ntwo"};
    const auto l = NormalizeArticle(line_break, "article.", true);
    CHECK(l.Has("article.title"));
    CHECK_FALSE(l.Has("article.body"));  // bodies take line breaks
}

TEST_CASE("kb: an update only requires the fields it names") {
    ArticleFields f{};
    CHECK(NormalizeArticle(f, "article.", false, {"category"}).empty());  // clearing the category is fine
    const auto v = NormalizeArticle(f, "article.", false, {"title", "body", "locale"});
    CHECK(v.Has("article.title"));
    CHECK(v.Has("article.body"));
    CHECK(v.Has("article.locale"));
    CHECK(NormalizeArticle(f, "article.", false).empty());  // no mask: empty fields are not changed
}

TEST_CASE("kb: categories are slugs") {
    CHECK(IsCategory("billing"));
    CHECK(IsCategory("account/login"));
    CHECK(IsCategory("2fa_setup-guide"));
    CHECK_FALSE(IsCategory(""));
    CHECK_FALSE(IsCategory("/billing"));
    CHECK_FALSE(IsCategory("Billing"));
    CHECK_FALSE(IsCategory("bill ing"));
    CHECK_FALSE(IsCategory(std::string(101, 'a')));
}

TEST_CASE("kb: each locale searches with its language's configuration, else simple") {
    CHECK(SearchLanguage("") == "en");
    CHECK(SearchLanguage("de-CH") == "de");
    CHECK(SearchLanguage("EN-gb") == "en");
    CHECK(std::string(SearchConfig("en")) == "english");
    CHECK(std::string(SearchConfig("de")) == "german");
    CHECK(std::string(SearchConfig("fr")) == "french");
    CHECK(std::string(SearchConfig("es")) == "spanish");
    CHECK(std::string(SearchConfig("nb")) == "norwegian");
    CHECK(std::string(SearchConfig("ja")) == "simple");  // no stemmer: plain lowercased words
    CHECK(std::string(SearchConfig("zz")) == "simple");
}
