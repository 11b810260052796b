// RPCs of the email area: sender settings, templates, sends.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "email/email.hpp"
#include "grpc_service.hpp"

namespace crm::marketing {
namespace {

using common::ApiError;
using common::RequestContext;

const std::vector<std::string> kSettingsPaths = {"from_email", "from_name", "reply_to", "rate_per_minute"};

}  // namespace

grpc::Status MarketingService::GetEmailSettings(grpc::ServerContext* sc, const v1::GetEmailSettingsRequest*,
                                                v1::GetEmailSettingsResponse* resp) {
    return rpc_.Handle(sc, "GetEmailSettings", [&](const RequestContext& rc) {
        RefusePublic(rc);
        *resp->mutable_settings() = areas_.email->GetSettings(rc);
    });
}

grpc::Status MarketingService::UpdateEmailSettings(grpc::ServerContext* sc, const v1::UpdateEmailSettingsRequest* req,
                                                   v1::UpdateEmailSettingsResponse* resp) {
    return rpc_.Handle(sc, "UpdateEmailSettings", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
        try {
            common::ValidateUpdateMask(paths, kSettingsPaths);
        } catch (const ApiError& e) {
            v.Append(e.violations());
        }
        const v1::EmailSettings settings = email::CheckedSettings(req->settings(), paths, v);
        v.ThrowIfAny();
        *resp->mutable_settings() = areas_.email->UpdateSettings(rc, settings, paths);
    });
}

grpc::Status MarketingService::CreateEmailTemplate(grpc::ServerContext* sc, const v1::CreateEmailTemplateRequest* req,
                                                   v1::CreateEmailTemplateResponse* resp) {
    return rpc_.Handle(sc, "CreateEmailTemplate", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const v1::EmailTemplate tmpl = email::CheckedTemplate(req->template_(), v);
        common::CheckRequestId(v, req->request_id());
        v.ThrowIfAny();
        *resp->mutable_template_() = areas_.email->CreateTemplate(rc, tmpl, req->request_id());
    });
}

grpc::Status MarketingService::GetEmailTemplate(grpc::ServerContext* sc, const v1::GetEmailTemplateRequest* req,
                                                v1::GetEmailTemplateResponse* resp) {
    return rpc_.Handle(sc, "GetEmailTemplate", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_template_() = areas_.email->GetTemplate(rc, id);
    });
}

grpc::Status MarketingService::CreateEmailSend(grpc::ServerContext* sc, const v1::CreateEmailSendRequest* req,
                                               v1::CreateEmailSendResponse* resp) {
    return rpc_.Handle(sc, "CreateEmailSend", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const v1::EmailSend send = email::CheckedSend(req->send(), v);
        common::CheckRequestId(v, req->request_id());
        v.ThrowIfAny();
        *resp->mutable_send() = areas_.email->CreateSend(rc, send, req->request_id());
    });
}

grpc::Status MarketingService::GetEmailSend(grpc::ServerContext* sc, const v1::GetEmailSendRequest* req,
                                            v1::GetEmailSendResponse* resp) {
    return rpc_.Handle(sc, "GetEmailSend", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_send() = areas_.email->GetSend(rc, id);
    });
}

}  // namespace crm::marketing
