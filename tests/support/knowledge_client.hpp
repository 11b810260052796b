#pragma once
// A thin typed client for crm.support.v1.KnowledgeService used by the integration tests and the benchmark.
#include <crm/support/v1/knowledge.grpc.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>

#include "harness.hpp"

namespace crm::test {

namespace kbv1 = crm::support::v1;

template <class Resp>
struct KnowledgeResult {
    grpc::Status status;
    Resp response;
    bool ok() const { return status.ok(); }
};

class KnowledgeClient {
  public:
    explicit KnowledgeClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(kbv1::KnowledgeService::NewStub(channel)) {}

#define CRM_KB_RPC(Name)                                                                               \
    KnowledgeResult<kbv1::Name##Response> Name(const kbv1::Name##Request& req,                         \
                                               const std::map<std::string, std::string>& extra = {}) { \
        KnowledgeResult<kbv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                                       \
        PrepareFor(ctx, RpcName<kbv1::KnowledgeService>(#Name), token_, extra);                        \
        r.status = stub_->Name(&ctx, req, &r.response);                                                \
        return r;                                                                                      \
    }
    CRM_KB_RPC(CreateArticle)
    CRM_KB_RPC(GetArticle)
    CRM_KB_RPC(ListArticles)
    CRM_KB_RPC(UpdateArticle)
    CRM_KB_RPC(ChangeArticleState)
    CRM_KB_RPC(ListArticleVersions)
    CRM_KB_RPC(SearchArticles)
    CRM_KB_RPC(SuggestArticles)
    CRM_KB_RPC(RateArticle)
    CRM_KB_RPC(LinkArticleToCase)
    CRM_KB_RPC(ListCaseArticles)
#undef CRM_KB_RPC

    kbv1::Article MustCreate(const std::string& title, const std::string& body, const std::string& locale = "en",
                             const std::string& category = "") {
        kbv1::CreateArticleRequest req;
        req.mutable_article()->set_title(title);
        req.mutable_article()->set_body(body);
        req.mutable_article()->set_locale(locale);
        req.mutable_article()->set_category(category);
        auto r = CreateArticle(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.article();
    }
    kbv1::Article MustChangeState(const std::string& id, kbv1::ArticleState state) {
        kbv1::ChangeArticleStateRequest req;
        req.set_id(id);
        req.set_state(state);
        auto r = ChangeArticleState(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.article();
    }
    // Review and publish (the article is a DRAFT).
    kbv1::Article MustPublish(const std::string& id) {
        MustChangeState(id, kbv1::ARTICLE_STATE_IN_REVIEW);
        return MustChangeState(id, kbv1::ARTICLE_STATE_PUBLISHED);
    }
    kbv1::Article MustCreatePublished(const std::string& title, const std::string& body,
                                      const std::string& locale = "en", const std::string& category = "") {
        return MustPublish(MustCreate(title, body, locale, category).id());
    }
    std::vector<kbv1::ArticleHit> MustSearch(const std::string& query, const std::string& locale = "",
                                             const std::string& category = "", int page_size = 10) {
        kbv1::SearchArticlesRequest req;
        req.set_query(query);
        req.set_locale(locale);
        req.set_category(category);
        req.set_page_size(page_size);
        auto r = SearchArticles(req);
        INFO(query << ": " << r.status.error_message());
        REQUIRE(r.ok());
        return {r.response.hits().begin(), r.response.hits().end()};
    }

  private:
    std::string token_;
    std::unique_ptr<kbv1::KnowledgeService::Stub> stub_;
};

}  // namespace crm::test
