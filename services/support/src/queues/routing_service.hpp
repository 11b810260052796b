#pragma once
// crm.support.v1.SupportRoutingService, the second gRPC service of the support package (queues, presence, routing
// rules, routing; sentiment rule and trends). Its RPCs are defined in each area's handlers.cpp (queues/, sentiment/):
// request checks (every field before any lookup), one call into the area's application code, the response.
#include <grpcpp/support/status.h>

#include <memory>

#include "crm/support/v1/routing.grpc.pb.h"

namespace crm::common {
class RpcRuntime;
}

namespace crm::support {

namespace queues {
class Queues;
}
namespace sentiment {
class Sentiments;
}

class SupportRoutingService final : public v1::SupportRoutingService::Service {
  public:
    SupportRoutingService(common::RpcRuntime& rpc, std::shared_ptr<queues::Queues> queues,
                          std::shared_ptr<sentiment::Sentiments> sentiments)
        : rpc_(rpc), queues_(std::move(queues)), sentiments_(std::move(sentiments)) {}

    // queues/handlers.cpp

    grpc::Status CreateQueue(grpc::ServerContext* sc, const v1::CreateQueueRequest* req,
                             v1::CreateQueueResponse* resp) override;
    grpc::Status GetQueue(grpc::ServerContext* sc, const v1::GetQueueRequest* req, v1::GetQueueResponse* resp) override;
    grpc::Status ListQueues(grpc::ServerContext* sc, const v1::ListQueuesRequest* req,
                            v1::ListQueuesResponse* resp) override;
    grpc::Status UpdateQueue(grpc::ServerContext* sc, const v1::UpdateQueueRequest* req,
                             v1::UpdateQueueResponse* resp) override;
    grpc::Status SetAgentPresence(grpc::ServerContext* sc, const v1::SetAgentPresenceRequest* req,
                                  v1::SetAgentPresenceResponse* resp) override;
    grpc::Status GetAgentPresence(grpc::ServerContext* sc, const v1::GetAgentPresenceRequest* req,
                                  v1::GetAgentPresenceResponse* resp) override;
    grpc::Status GetRoutingRules(grpc::ServerContext* sc, const v1::GetRoutingRulesRequest* req,
                                 v1::GetRoutingRulesResponse* resp) override;
    grpc::Status UpdateRoutingRules(grpc::ServerContext* sc, const v1::UpdateRoutingRulesRequest* req,
                                    v1::UpdateRoutingRulesResponse* resp) override;
    grpc::Status RouteCase(grpc::ServerContext* sc, const v1::RouteCaseRequest* req,
                           v1::RouteCaseResponse* resp) override;
    grpc::Status ListCaseRoutings(grpc::ServerContext* sc, const v1::ListCaseRoutingsRequest* req,
                                  v1::ListCaseRoutingsResponse* resp) override;

    // sentiment/handlers.cpp
    grpc::Status GetSentimentRule(grpc::ServerContext* sc, const v1::GetSentimentRuleRequest* req,
                                  v1::GetSentimentRuleResponse* resp) override;
    grpc::Status UpdateSentimentRule(grpc::ServerContext* sc, const v1::UpdateSentimentRuleRequest* req,
                                     v1::UpdateSentimentRuleResponse* resp) override;
    grpc::Status GetCaseSentiment(grpc::ServerContext* sc, const v1::GetCaseSentimentRequest* req,
                                  v1::GetCaseSentimentResponse* resp) override;

  private:
    common::RpcRuntime& rpc_;
    std::shared_ptr<queues::Queues> queues_;
    std::shared_ptr<sentiment::Sentiments> sentiments_;
};

}  // namespace crm::support
