#pragma once
// crm.support.v1.SupportService: one class. Each area defines its RPC members in its own handlers.cpp: the request
// checks (the kit's validators collecting common::Violations, every field before any lookup or write), one call into
// the area's application code, the response. Errors leave as common::ApiError through the common RPC boundary.
#include <grpcpp/support/status.h>

#include <memory>

#include "crm/support/v1/support.grpc.pb.h"

namespace crm::common {
class RpcRuntime;
}

namespace crm::support {

namespace cases {
class Cases;
}
namespace conversation {
class Conversation;
}
namespace sla {
class Sla;
}
namespace email {
class Email;
}

// The application code of every area, as the handlers call it.
struct Areas {
    std::shared_ptr<cases::Cases> cases;
    std::shared_ptr<conversation::Conversation> conversation;
    std::shared_ptr<sla::Sla> sla;
    std::shared_ptr<email::Email> email;
};

class SupportService final : public v1::SupportService::Service {
  public:
    SupportService(common::RpcRuntime& rpc, Areas areas) : rpc_(rpc), areas_(std::move(areas)) {}

    // cases/handlers.cpp
    grpc::Status CreateCase(grpc::ServerContext* sc, const v1::CreateCaseRequest* req,
                            v1::CreateCaseResponse* resp) override;
    grpc::Status GetCase(grpc::ServerContext* sc, const v1::GetCaseRequest* req, v1::GetCaseResponse* resp) override;
    grpc::Status ListCases(grpc::ServerContext* sc, const v1::ListCasesRequest* req,
                           v1::ListCasesResponse* resp) override;
    grpc::Status UpdateCase(grpc::ServerContext* sc, const v1::UpdateCaseRequest* req,
                            v1::UpdateCaseResponse* resp) override;
    grpc::Status ChangeCaseStatus(grpc::ServerContext* sc, const v1::ChangeCaseStatusRequest* req,
                                  v1::ChangeCaseStatusResponse* resp) override;
    grpc::Status AssignCase(grpc::ServerContext* sc, const v1::AssignCaseRequest* req,
                            v1::AssignCaseResponse* resp) override;
    grpc::Status MergeCases(grpc::ServerContext* sc, const v1::MergeCasesRequest* req,
                            v1::MergeCasesResponse* resp) override;

    // conversation/handlers.cpp
    grpc::Status AddCaseMessage(grpc::ServerContext* sc, const v1::AddCaseMessageRequest* req,
                                v1::AddCaseMessageResponse* resp) override;
    grpc::Status ListCaseMessages(grpc::ServerContext* sc, const v1::ListCaseMessagesRequest* req,
                                  v1::ListCaseMessagesResponse* resp) override;

    // email/handlers.cpp
    grpc::Status IngestEmail(grpc::ServerContext* sc, const v1::IngestEmailRequest* req,
                             v1::IngestEmailResponse* resp) override;

    // sla/handlers.cpp
    grpc::Status GetSlaPolicy(grpc::ServerContext* sc, const v1::GetSlaPolicyRequest* req,
                              v1::GetSlaPolicyResponse* resp) override;
    grpc::Status UpdateSlaPolicy(grpc::ServerContext* sc, const v1::UpdateSlaPolicyRequest* req,
                                 v1::UpdateSlaPolicyResponse* resp) override;
    grpc::Status GetSlaStatus(grpc::ServerContext* sc, const v1::GetSlaStatusRequest* req,
                              v1::GetSlaStatusResponse* resp) override;

  private:
    common::RpcRuntime& rpc_;
    Areas areas_;
};

}  // namespace crm::support
