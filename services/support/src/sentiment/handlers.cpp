// RPCs of the sentiment area (members of crm.support.v1.SupportRoutingService): GetSentimentRule,
// UpdateSentimentRule, GetCaseSentiment.
#include <grpcpp/grpcpp.h>

#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "queues/routing_service.hpp"
#include "sentiment/sentiment.hpp"

namespace crm::support {

grpc::Status SupportRoutingService::GetSentimentRule(grpc::ServerContext* sc, const v1::GetSentimentRuleRequest*,
                                                     v1::GetSentimentRuleResponse* resp) {
    return rpc_.Handle(sc, "GetSentimentRule", [&](const common::RequestContext& rc) {
        *resp->mutable_sentiment_rule() = sentiments_->GetRule(rc);
    });
}

grpc::Status SupportRoutingService::UpdateSentimentRule(grpc::ServerContext* sc,
                                                        const v1::UpdateSentimentRuleRequest* req,
                                                        v1::UpdateSentimentRuleResponse* resp) {
    return rpc_.Handle(sc, "UpdateSentimentRule", [&](const common::RequestContext& rc) {
        common::Violations v;
        const v1::SentimentRule rule = sentiment::CheckRule(req->sentiment_rule(), v);
        v.ThrowIfAny();
        *resp->mutable_sentiment_rule() = sentiments_->UpdateRule(rc, rule);
    });
}

grpc::Status SupportRoutingService::GetCaseSentiment(grpc::ServerContext* sc, const v1::GetCaseSentimentRequest* req,
                                                     v1::GetCaseSentimentResponse* resp) {
    return rpc_.Handle(sc, "GetCaseSentiment", [&](const common::RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->case_id(), "case_id");
        v.ThrowIfAny();
        *resp = sentiments_->CaseTrend(rc, id);
    });
}

}  // namespace crm::support
