#pragma once
// The knowledge-base area: articles (a working copy moving DRAFT → IN_REVIEW → PUBLISHED → ARCHIVED), every
// published version kept, the search terms of each live version, full-text search and suggestions for a case, votes
// and links to the cases an article answered. ArticlePublished leaves through the outbox in the publishing
// transaction.
#include <crm/support/v1/knowledge.pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "domain/article.hpp"

namespace crm::common {
class Db;
class Outbox;
class Metrics;
}  // namespace crm::common

namespace prometheus {
class Histogram;
}  // namespace prometheus

namespace crm::support::kb {

namespace v1 = crm::support::v1;

// Aggregate type of an article's events (the aggregate id is the article id).
inline constexpr char kAggregateType[] = "article";

domain::ArticleState StateOf(v1::ArticleState state);  // UNSPECIFIED -> DRAFT
v1::ArticleState StateProto(domain::ArticleState state);

struct ListQuery {
    int page_size = common::kDefaultPageSize;
    std::string page_token;
    std::string state, locale, category;  // "" = any
};

struct SearchQuery {
    std::string query;     // checked: 1..500 characters
    std::string language;  // domain::SearchLanguage of the request's locale
    std::string category;  // "" = any
    int page_size = 10;
    std::string page_token;
};

struct SuggestQuery {
    std::string case_id;
    std::string locale;  // "" = the case's language
    int page_size = 5;
};

class Knowledge {
  public:
    // metrics: crm_support_kb_search_seconds and crm_support_kb_search_results by kind (search, suggest).
    Knowledge(common::Db& db, common::Outbox& outbox, common::Metrics& metrics);

    // fields: checked and normalized (domain::NormalizeArticle). A retried request_id returns the first article.
    v1::Article Create(const common::RequestContext& rc, const domain::ArticleFields& fields,
                       const std::string& request_id);
    v1::Article Get(const common::RequestContext& rc, const std::string& id);
    common::Page<v1::Article> List(const common::RequestContext& rc, const ListQuery& query);
    // paths: the update mask (empty = every non-empty field of `fields`); nothing written when no value changes.
    v1::Article Update(const common::RequestContext& rc, const std::string& id, const domain::ArticleFields& fields,
                       const std::vector<std::string>& paths, const std::string& etag);
    v1::Article ChangeState(const common::RequestContext& rc, const std::string& id, domain::ArticleState to,
                            const std::string& etag);
    common::Page<v1::ArticleVersion> ListVersions(const common::RequestContext& rc, const std::string& article_id,
                                                  int page_size, const std::string& page_token);

    // search.cpp
    common::Page<v1::ArticleHit> Search(const common::RequestContext& rc, const SearchQuery& query);
    std::vector<v1::ArticleHit> Suggest(const common::RequestContext& rc, const SuggestQuery& query);

    // feedback.cpp
    v1::Article Rate(const common::RequestContext& rc, const std::string& article_id, bool helpful);
    // Returns the link and whether it was created now.
    std::pair<v1::CaseArticleLink, bool> Link(const common::RequestContext& rc, const std::string& case_id,
                                              const std::string& article_id);
    std::vector<v1::CaseArticleLink> ListCaseLinks(const common::RequestContext& rc, const std::string& case_id);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    struct SearchMetrics {
        prometheus::Histogram* seconds;
        prometheus::Histogram* results;
    };
    SearchMetrics search_metrics_, suggest_metrics_;
};

}  // namespace crm::support::kb
