// RPCs of the knowledge base: request checks (every field before any lookup), one call into kb::Knowledge, the
// response.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/case.hpp"
#include "kb/knowledge.hpp"
#include "kb/service.hpp"

namespace crm::support::kb {
namespace {

using common::ApiError;
using common::RequestContext;

const std::vector<std::string> kUpdatable = {"title", "body", "category", "locale"};

domain::ArticleFields FieldsOf(const v1::Article& a) {
    return {.title = a.title(), .body = a.body(), .category = a.category(), .locale = a.locale()};
}

// An optional locale filter or override: a BCP 47 tag, in its canonical case.
std::string CheckedLocale(common::Violations& v, const std::string& value, const std::string& field) {
    const std::string locale = common::text::Trim(value);
    if (!common::CheckToken(v, locale, field, domain::kMaxLanguage)) return "";
    if (locale.empty()) return "";
    if (!domain::IsLanguageTag(locale)) {
        v.Add(field, "a BCP 47 language tag such as \"en\" or \"de-CH\"");
        return "";
    }
    return domain::CanonicalLanguageTag(locale);
}

std::string CheckedCategory(common::Violations& v, const std::string& value, const std::string& field) {
    const std::string category = common::text::AsciiLower(common::text::Trim(value));
    if (!common::CheckText(v, category, field, {.max_chars = domain::kMaxCategory})) return "";
    if (!category.empty() && !domain::IsCategory(category)) {
        v.Add(field, "a slug: a-z or 0-9 first, then a-z, 0-9, '_', '-' or '/'");
    }
    return category;
}

}  // namespace

grpc::Status KnowledgeService::CreateArticle(grpc::ServerContext* sc, const v1::CreateArticleRequest* req,
                                             v1::CreateArticleResponse* resp) {
    return rpc_.Handle(sc, "CreateArticle", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        domain::ArticleFields f = FieldsOf(req->article());
        v.Append(domain::NormalizeArticle(f, "article.", /*create=*/true));
        domain::CheckEtagSyntax(v, req->article().etag(), "article.etag");
        v.ThrowIfAny();
        *resp->mutable_article() = knowledge_->Create(rc, f, req->request_id());
    });
}

grpc::Status KnowledgeService::GetArticle(grpc::ServerContext* sc, const v1::GetArticleRequest* req,
                                          v1::GetArticleResponse* resp) {
    return rpc_.Handle(sc, "GetArticle", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_article() = knowledge_->Get(rc, id);
    });
}

grpc::Status KnowledgeService::ListArticles(grpc::ServerContext* sc, const v1::ListArticlesRequest* req,
                                            v1::ListArticlesResponse* resp) {
    return rpc_.Handle(sc, "ListArticles", [&](const RequestContext& rc) {
        ListQuery q;
        q.page_size = common::ResolvePageSize(req->page_size());
        q.page_token = req->page_token();
        common::Violations v;
        if (!v1::ArticleState_IsValid(req->state())) v.Add("state", "unknown state");
        q.locale = CheckedLocale(v, req->locale(), "locale");
        q.category = CheckedCategory(v, req->category(), "category");
        v.ThrowIfAny();
        if (req->state() != v1::ARTICLE_STATE_UNSPECIFIED) q.state = domain::ArticleStateText(StateOf(req->state()));
        common::Page<v1::Article> page = knowledge_->List(rc, q);
        for (auto& a : page.items) *resp->add_articles() = std::move(a);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status KnowledgeService::UpdateArticle(grpc::ServerContext* sc, const v1::UpdateArticleRequest* req,
                                             v1::UpdateArticleResponse* resp) {
    return rpc_.Handle(sc, "UpdateArticle", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->article().id(), "article.id");
        const std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
        try {
            common::ValidateUpdateMask(paths, kUpdatable, /*allow_empty=*/true);
        } catch (const ApiError& e) {
            v.Append(e.violations());  // reported with the other fields' problems in one answer
        }
        domain::ArticleFields f = FieldsOf(req->article());
        v.Append(domain::NormalizeArticle(f, "article.", /*create=*/false, paths));
        domain::CheckEtagSyntax(v, req->article().etag(), "article.etag");
        v.ThrowIfAny();
        *resp->mutable_article() = knowledge_->Update(rc, id, f, paths, req->article().etag());
    });
}

grpc::Status KnowledgeService::ChangeArticleState(grpc::ServerContext* sc, const v1::ChangeArticleStateRequest* req,
                                                  v1::ChangeArticleStateResponse* resp) {
    return rpc_.Handle(sc, "ChangeArticleState", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        if (!v1::ArticleState_IsValid(req->state()) || req->state() == v1::ARTICLE_STATE_UNSPECIFIED) {
            v.Add("state", "required: the target state");
        }
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        v.ThrowIfAny();
        *resp->mutable_article() = knowledge_->ChangeState(rc, id, StateOf(req->state()), req->etag());
    });
}

grpc::Status KnowledgeService::ListArticleVersions(grpc::ServerContext* sc, const v1::ListArticleVersionsRequest* req,
                                                   v1::ListArticleVersionsResponse* resp) {
    return rpc_.Handle(sc, "ListArticleVersions", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->article_id(), "article_id");
        v.ThrowIfAny();
        const int page_size = common::ResolvePageSize(req->page_size());
        common::Page<v1::ArticleVersion> page = knowledge_->ListVersions(rc, id, page_size, req->page_token());
        for (auto& version : page.items) *resp->add_versions() = std::move(version);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status KnowledgeService::SearchArticles(grpc::ServerContext* sc, const v1::SearchArticlesRequest* req,
                                              v1::SearchArticlesResponse* resp) {
    return rpc_.Handle(sc, "SearchArticles", [&](const RequestContext& rc) {
        SearchQuery q;
        q.page_size = common::ResolvePageSize(req->page_size(), 10, 50);
        q.page_token = req->page_token();
        common::Violations v;
        q.query = common::text::CollapseWhitespace(req->query());
        common::CheckText(v, q.query, "query", {.max_chars = domain::kMaxSearchQuery, .required = true});
        q.language = domain::SearchLanguage(CheckedLocale(v, req->locale(), "locale"));
        q.category = CheckedCategory(v, req->category(), "category");
        v.ThrowIfAny();
        common::Page<v1::ArticleHit> page = knowledge_->Search(rc, q);
        for (auto& h : page.items) *resp->add_hits() = std::move(h);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status KnowledgeService::SuggestArticles(grpc::ServerContext* sc, const v1::SuggestArticlesRequest* req,
                                               v1::SuggestArticlesResponse* resp) {
    return rpc_.Handle(sc, "SuggestArticles", [&](const RequestContext& rc) {
        SuggestQuery q;
        q.page_size = common::ResolvePageSize(req->page_size(), 5, 20);
        common::Violations v;
        q.case_id = common::CheckId(v, req->case_id(), "case_id");
        q.locale = CheckedLocale(v, req->locale(), "locale");
        v.ThrowIfAny();
        for (auto& h : knowledge_->Suggest(rc, q)) *resp->add_hits() = std::move(h);
    });
}

grpc::Status KnowledgeService::RateArticle(grpc::ServerContext* sc, const v1::RateArticleRequest* req,
                                           v1::RateArticleResponse* resp) {
    return rpc_.Handle(sc, "RateArticle", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->article_id(), "article_id");
        v.ThrowIfAny();
        if (rc.user_id.empty()) {
            throw ApiError::FailedPrecondition("a vote needs a user (this caller has no user id)", "NO_USER");
        }
        *resp->mutable_article() = knowledge_->Rate(rc, id, req->helpful());
    });
}

grpc::Status KnowledgeService::LinkArticleToCase(grpc::ServerContext* sc, const v1::LinkArticleToCaseRequest* req,
                                                 v1::LinkArticleToCaseResponse* resp) {
    return rpc_.Handle(sc, "LinkArticleToCase", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string case_id = common::CheckId(v, req->case_id(), "case_id");
        const std::string article_id = common::CheckId(v, req->article_id(), "article_id");
        v.ThrowIfAny();
        auto [link, created] = knowledge_->Link(rc, case_id, article_id);
        *resp->mutable_link() = std::move(link);
        resp->set_created(created);
    });
}

grpc::Status KnowledgeService::ListCaseArticles(grpc::ServerContext* sc, const v1::ListCaseArticlesRequest* req,
                                                v1::ListCaseArticlesResponse* resp) {
    return rpc_.Handle(sc, "ListCaseArticles", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string case_id = common::CheckId(v, req->case_id(), "case_id");
        v.ThrowIfAny();
        for (auto& l : knowledge_->ListCaseLinks(rc, case_id)) *resp->add_links() = std::move(l);
    });
}

}  // namespace crm::support::kb
