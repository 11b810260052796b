#pragma once
// crm.support.v1.CsatService (csat/handlers.cpp), through the common RPC boundary.
#include <grpcpp/support/status.h>

#include <memory>

#include "crm/support/v1/csat.grpc.pb.h"

namespace crm::common {
class RpcRuntime;
}

namespace crm::support::csat {

class Csat;

class CsatService final : public v1::CsatService::Service {
  public:
    CsatService(common::RpcRuntime& rpc, std::shared_ptr<Csat> csat) : rpc_(rpc), csat_(std::move(csat)) {}

    grpc::Status AnswerCsatSurvey(grpc::ServerContext* sc, const v1::AnswerCsatSurveyRequest* req,
                                  v1::AnswerCsatSurveyResponse* resp) override;
    grpc::Status GetCsatSurveyPage(grpc::ServerContext* sc, const v1::GetCsatSurveyPageRequest* req,
                                   v1::GetCsatSurveyPageResponse* resp) override;
    grpc::Status GetCsatReport(grpc::ServerContext* sc, const v1::GetCsatReportRequest* req,
                               v1::GetCsatReportResponse* resp) override;

  private:
    common::RpcRuntime& rpc_;
    std::shared_ptr<Csat> csat_;
};

}  // namespace crm::support::csat
