#pragma once
// crm.leads.v1.LeadsService: one class. Each area defines its RPC members in its own handlers.cpp: the request checks
// (the kit's validators collecting common::Violations, every field before any lookup or write), one call into the
// area's application code, the response. Errors leave as common::ApiError through the common RPC boundary.
#include <grpcpp/support/status.h>

#include <memory>

#include "crm/leads/v1/leads.grpc.pb.h"

namespace crm::common {
class RpcRuntime;
}

namespace crm::leads {

namespace capture {
class Capture;
}
namespace lifecycle {
class Lifecycle;
}
namespace scoring {
class Scoring;
}
namespace assignment {
class Assignment;
}
namespace conversion {
class Conversion;
}

// The application code of every area, as the handlers call it.
struct Areas {
    std::shared_ptr<capture::Capture> capture;
    std::shared_ptr<lifecycle::Lifecycle> lifecycle;
    std::shared_ptr<scoring::Scoring> scoring;
    std::shared_ptr<assignment::Assignment> assignment;
    std::shared_ptr<conversion::Conversion> conversion;
};

class LeadsService final : public v1::LeadsService::Service {
  public:
    LeadsService(common::RpcRuntime& rpc, Areas areas) : rpc_(rpc), areas_(std::move(areas)) {}

    // capture/handlers.cpp
    grpc::Status CreateLead(grpc::ServerContext* sc, const v1::CreateLeadRequest* req,
                            v1::CreateLeadResponse* resp) override;
    grpc::Status ImportLeads(grpc::ServerContext* sc, grpc::ServerReader<v1::ImportLeadsRequest>* reader,
                             v1::ImportLeadsResponse* resp) override;
    grpc::Status UpsertWebForm(grpc::ServerContext* sc, const v1::UpsertWebFormRequest* req,
                               v1::UpsertWebFormResponse* resp) override;
    grpc::Status GetWebForm(grpc::ServerContext* sc, const v1::GetWebFormRequest* req,
                            v1::GetWebFormResponse* resp) override;
    grpc::Status IssueWebFormToken(grpc::ServerContext* sc, const v1::IssueWebFormTokenRequest* req,
                                   v1::IssueWebFormTokenResponse* resp) override;
    grpc::Status SubmitWebForm(grpc::ServerContext* sc, const v1::SubmitWebFormRequest* req,
                               v1::SubmitWebFormResponse* resp) override;

    // lifecycle/handlers.cpp
    grpc::Status GetLead(grpc::ServerContext* sc, const v1::GetLeadRequest* req, v1::GetLeadResponse* resp) override;
    grpc::Status ListLeads(grpc::ServerContext* sc, const v1::ListLeadsRequest* req,
                           v1::ListLeadsResponse* resp) override;
    grpc::Status UpdateLead(grpc::ServerContext* sc, const v1::UpdateLeadRequest* req,
                            v1::UpdateLeadResponse* resp) override;
    grpc::Status ChangeLeadStatus(grpc::ServerContext* sc, const v1::ChangeLeadStatusRequest* req,
                                  v1::ChangeLeadStatusResponse* resp) override;
    grpc::Status RecordEngagement(grpc::ServerContext* sc, const v1::RecordEngagementRequest* req,
                                  v1::RecordEngagementResponse* resp) override;

    // scoring/handlers.cpp
    grpc::Status GetScoringRules(grpc::ServerContext* sc, const v1::GetScoringRulesRequest* req,
                                 v1::GetScoringRulesResponse* resp) override;
    grpc::Status UpdateScoringRules(grpc::ServerContext* sc, const v1::UpdateScoringRulesRequest* req,
                                    v1::UpdateScoringRulesResponse* resp) override;
    grpc::Status TrainScoringModel(grpc::ServerContext* sc, const v1::TrainScoringModelRequest* req,
                                   v1::TrainScoringModelResponse* resp) override;
    grpc::Status PredictLeadConversion(grpc::ServerContext* sc, const v1::PredictLeadConversionRequest* req,
                                       v1::PredictLeadConversionResponse* resp) override;

    // assignment/handlers.cpp
    grpc::Status GetAssignmentConfig(grpc::ServerContext* sc, const v1::GetAssignmentConfigRequest* req,
                                     v1::GetAssignmentConfigResponse* resp) override;
    grpc::Status UpdateAssignmentConfig(grpc::ServerContext* sc, const v1::UpdateAssignmentConfigRequest* req,
                                        v1::UpdateAssignmentConfigResponse* resp) override;
    grpc::Status AssignLead(grpc::ServerContext* sc, const v1::AssignLeadRequest* req,
                            v1::AssignLeadResponse* resp) override;

    // conversion/handlers.cpp
    grpc::Status ConvertLead(grpc::ServerContext* sc, const v1::ConvertLeadRequest* req,
                             v1::ConvertLeadResponse* resp) override;

  private:
    common::RpcRuntime& rpc_;
    Areas areas_;
};

}  // namespace crm::leads
