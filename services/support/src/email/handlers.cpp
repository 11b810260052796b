// RPCs of the email area: IngestEmail.
#include <grpcpp/grpcpp.h>

#include "crm/common/rpc.hpp"
#include "domain/mime.hpp"
#include "email/email.hpp"
#include "grpc_service.hpp"

namespace crm::support {

grpc::Status SupportService::IngestEmail(grpc::ServerContext* sc, const v1::IngestEmailRequest* req,
                                         v1::IngestEmailResponse* resp) {
    return rpc_.Handle(sc, "IngestEmail", [&](const common::RequestContext& rc) {
        common::Violations v;
        const auto parsed = domain::ParseEmail(req->raw_message(), "raw_message", v);
        v.ThrowIfAny();
        email::IngestResult r = areas_.email->Ingest(rc, *parsed);
        *resp->mutable_case_() = std::move(r.c);
        *resp->mutable_message() = std::move(r.message);
        resp->set_created_case(r.created_case);
        resp->set_duplicate(r.duplicate);
    });
}

}  // namespace crm::support
