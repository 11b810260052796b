#pragma once
// crm.support.v1.KnowledgeService: the knowledge base's RPCs (kb/handlers.cpp), each through the common RPC boundary.
#include <grpcpp/support/status.h>

#include <memory>

#include "crm/support/v1/knowledge.grpc.pb.h"

namespace crm::common {
class RpcRuntime;
}

namespace crm::support::kb {

class Knowledge;

class KnowledgeService final : public v1::KnowledgeService::Service {
  public:
    KnowledgeService(common::RpcRuntime& rpc, std::shared_ptr<Knowledge> knowledge)
        : rpc_(rpc), knowledge_(std::move(knowledge)) {}

    grpc::Status CreateArticle(grpc::ServerContext* sc, const v1::CreateArticleRequest* req,
                               v1::CreateArticleResponse* resp) override;
    grpc::Status GetArticle(grpc::ServerContext* sc, const v1::GetArticleRequest* req,
                            v1::GetArticleResponse* resp) override;
    grpc::Status ListArticles(grpc::ServerContext* sc, const v1::ListArticlesRequest* req,
                              v1::ListArticlesResponse* resp) override;
    grpc::Status UpdateArticle(grpc::ServerContext* sc, const v1::UpdateArticleRequest* req,
                               v1::UpdateArticleResponse* resp) override;
    grpc::Status ChangeArticleState(grpc::ServerContext* sc, const v1::ChangeArticleStateRequest* req,
                                    v1::ChangeArticleStateResponse* resp) override;
    grpc::Status ListArticleVersions(grpc::ServerContext* sc, const v1::ListArticleVersionsRequest* req,
                                     v1::ListArticleVersionsResponse* resp) override;
    grpc::Status SearchArticles(grpc::ServerContext* sc, const v1::SearchArticlesRequest* req,
                                v1::SearchArticlesResponse* resp) override;
    grpc::Status SuggestArticles(grpc::ServerContext* sc, const v1::SuggestArticlesRequest* req,
                                 v1::SuggestArticlesResponse* resp) override;
    grpc::Status RateArticle(grpc::ServerContext* sc, const v1::RateArticleRequest* req,
                             v1::RateArticleResponse* resp) override;
    grpc::Status LinkArticleToCase(grpc::ServerContext* sc, const v1::LinkArticleToCaseRequest* req,
                                   v1::LinkArticleToCaseResponse* resp) override;
    grpc::Status ListCaseArticles(grpc::ServerContext* sc, const v1::ListCaseArticlesRequest* req,
                                  v1::ListCaseArticlesResponse* resp) override;

  private:
    common::RpcRuntime& rpc_;
    std::shared_ptr<Knowledge> knowledge_;
};

}  // namespace crm::support::kb
