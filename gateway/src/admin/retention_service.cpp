#include "admin/retention_service.hpp"

#include <grpcpp/grpcpp.h>

#include "admin/admitted_call.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/validate.hpp"
#include "crm/privacy/v1/retention.grpc.pb.h"

namespace crm::gateway {
namespace {

namespace pv1 = crm::privacy::v1;
constexpr char kServiceName[] = "crm.privacy.v1.RetentionService";

class RetentionService final : public pv1::RetentionService::Service {
  public:
    RetentionService(RetentionServiceSettings settings, std::shared_ptr<const Admission> admission,
                     std::vector<AuditBackend> backends)
        : settings_(std::move(settings)), admission_(std::move(admission)), backends_(std::move(backends)) {}

    grpc::Status ListRetentionRules(grpc::ServerContext* sc, const pv1::ListRetentionRulesRequest* req,
                                    pv1::ListRetentionRulesResponse* resp) override {
        return Forward(sc, "ListRetentionRules", *req, resp, &pv1::RetentionService::Stub::ListRetentionRules);
    }
    grpc::Status SetRetentionPolicy(grpc::ServerContext* sc, const pv1::SetRetentionPolicyRequest* req,
                                    pv1::SetRetentionPolicyResponse* resp) override {
        return Forward(sc, "SetRetentionPolicy", *req, resp, &pv1::RetentionService::Stub::SetRetentionPolicy);
    }
    grpc::Status RunRetention(grpc::ServerContext* sc, const pv1::RunRetentionRequest* req,
                              pv1::RunRetentionResponse* resp) override {
        return Forward(sc, "RunRetention", *req, resp, &pv1::RetentionService::Stub::RunRetention);
    }
    grpc::Status ListRetentionRuns(grpc::ServerContext* sc, const pv1::ListRetentionRunsRequest* req,
                                   pv1::ListRetentionRunsResponse* resp) override {
        return Forward(sc, "ListRetentionRuns", *req, resp, &pv1::RetentionService::Stub::ListRetentionRuns);
    }

  private:
    template <class Req, class Resp, class Method>
    grpc::Status Forward(grpc::ServerContext* sc, const char* method, const Req& req, Resp* resp, Method call) {
        return AdmittedCall(
            *admission_, sc, std::string(kServiceName) + "/" + method, [&](const common::RequestContext& rc) {
                const AuditBackend& backend = BackendOf(req.service());
                grpc::ClientContext ctx;
                for (const auto& [k, v] :
                     common::SignIdentity(rc, "/" + std::string(kServiceName) + "/" + method, settings_.internal_key,
                                          std::chrono::system_clock::now())) {
                    ctx.AddMetadata(k, v);
                }
                ctx.set_deadline(std::chrono::system_clock::now() + rc.Remaining(settings_.backend_timeout));
                auto stub = pv1::RetentionService::NewStub(backend.channel);
                const grpc::Status status = ((*stub).*call)(&ctx, req, resp);
                if (!status.ok()) common::ThrowUpstreamError(status);
            });
    }

    const AuditBackend& BackendOf(const std::string& service) const {
        common::Violations v;
        common::CheckToken(v, service, "service", 64, true);
        v.ThrowIfAny();
        std::string known;
        for (const auto& b : backends_) {
            if (b.service == service) return b;
            known += (known.empty() ? "" : ", ") + b.service;
        }
        throw common::ApiError::InvalidArgument("service", "unknown service; one of: " + known);
    }

    RetentionServiceSettings settings_;
    std::shared_ptr<const Admission> admission_;
    std::vector<AuditBackend> backends_;
};

}  // namespace

std::shared_ptr<grpc::Service> MakeRetentionService(RetentionServiceSettings settings,
                                                    std::shared_ptr<const Admission> admission,
                                                    std::vector<AuditBackend> backends) {
    return std::make_shared<RetentionService>(std::move(settings), std::move(admission), std::move(backends));
}

}  // namespace crm::gateway
