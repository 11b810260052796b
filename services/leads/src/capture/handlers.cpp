// RPCs of the capture area: CreateLead, ImportLeads and the web forms.
#include <grpcpp/grpcpp.h>

#include <vector>

#include "capture/capture.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/web_form.hpp"
#include "grpc_service.hpp"
#include "lifecycle/lifecycle.hpp"

namespace crm::leads {
namespace {

using common::ApiError;
using common::RequestContext;

constexpr std::size_t kMaxImportRows = 10000;
constexpr char kSlugRule[] = "must match [a-z][a-z0-9_-]{0,62}";

}  // namespace

grpc::Status LeadsService::CreateLead(grpc::ServerContext* sc, const v1::CreateLeadRequest* req,
                                      v1::CreateLeadResponse* resp) {
    return rpc_.Handle(sc, "CreateLead", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        const v1::Lead lead = lifecycle::CheckedLead(req->lead(), "lead.", true, v);
        v.ThrowIfAny();
        *resp->mutable_lead() = areas_.capture->CreateLead(rc, lead, req->request_id());
    });
}

grpc::Status LeadsService::ImportLeads(grpc::ServerContext* sc, grpc::ServerReader<v1::ImportLeadsRequest>* reader,
                                       v1::ImportLeadsResponse* resp) {
    return rpc_.Handle(sc, "ImportLeads", [&](const RequestContext& rc) {
        // The whole stream is read first, so a stream above the limit is refused before any row is written.
        std::vector<capture::ImportRow> rows;
        v1::ImportLeadsRequest next;
        while (reader->Read(&next)) {
            if (rows.size() >= kMaxImportRows) {
                throw ApiError::InvalidArgument("lead", "at most 10000 rows per ImportLeads call; nothing imported");
            }
            capture::ImportRow row;
            common::CheckRequestId(row.violations, next.request_id());
            row.lead = lifecycle::CheckedLead(next.lead(), "lead.", true, row.violations);
            row.request_id = next.request_id();
            rows.push_back(std::move(row));
            next.Clear();
        }
        *resp = areas_.capture->Import(rc, rows);
    });
}

grpc::Status LeadsService::UpsertWebForm(grpc::ServerContext* sc, const v1::UpsertWebFormRequest* req,
                                         v1::UpsertWebFormResponse* resp) {
    return rpc_.Handle(sc, "UpsertWebForm", [&](const RequestContext& rc) {
        v1::WebForm form = req->web_form();
        common::Violations v;
        if (!domain::IsSlug(form.id())) v.Add("web_form.id", std::string("required; ") + kSlugRule);
        common::CheckText(v, form.name(), "web_form.name", common::kName);
        common::CheckListSize(v, form.field_mapping().size(), "web_form.field_mapping", domain::kMaxFormFields);
        for (const auto& [name, target] : form.field_mapping()) {
            common::Violations name_problems;
            if (!common::CheckText(name_problems, name, "web_form.field_mapping",
                                   {.max_chars = 64, .required = true}) ||
                !domain::IsFormTarget(target)) {
                v.Add("web_form.field_mapping", domain::Quoted(name) + " → " + domain::Quoted(target) +
                                                    ": names of 1 to 64 characters mapped to a lead field or "
                                                    "attributes.<key>");
            }
        }
        form.set_default_source(common::text::AsciiLower(common::text::Trim(form.default_source())));
        common::CheckText(v, form.default_source(), "web_form.default_source", common::kName);
        common::CheckToken(v, form.default_campaign_id(), "web_form.default_campaign_id", 200);
        if (!v1::LeadPriority_IsValid(form.default_priority())) {
            v.Add("web_form.default_priority", "unknown priority");
        }
        common::CheckText(v, form.consent_text(), "web_form.consent_text",
                          {.max_chars = domain::kMaxConsentText, .required = true, .multiline = true});
        common::CheckText(v, form.consent_version(), "web_form.consent_version",
                          {.max_chars = domain::kMaxConsentVersion, .required = true});
        if (form.min_fill_seconds() == 0) form.set_min_fill_seconds(3);
        if (form.token_ttl_seconds() == 0) form.set_token_ttl_seconds(3600);
        if (form.min_fill_seconds() < 1 || form.min_fill_seconds() > 3600) {
            v.Add("web_form.min_fill_seconds", "0 (= 3) or 1 to 3600");
        }
        if (form.token_ttl_seconds() <= form.min_fill_seconds() || form.token_ttl_seconds() > 86400) {
            v.Add("web_form.token_ttl_seconds", "0 (= 3600), or above min_fill_seconds and at most 86400");
        }
        v.ThrowIfAny();
        *resp->mutable_web_form() = areas_.capture->UpsertWebForm(rc, form);
    });
}

grpc::Status LeadsService::GetWebForm(grpc::ServerContext* sc, const v1::GetWebFormRequest* req,
                                      v1::GetWebFormResponse* resp) {
    return rpc_.Handle(sc, "GetWebForm", [&](const RequestContext& rc) {
        if (!domain::IsSlug(req->id())) throw ApiError::InvalidArgument("id", kSlugRule);
        *resp->mutable_web_form() = areas_.capture->GetWebForm(rc, req->id());
    });
}

grpc::Status LeadsService::IssueWebFormToken(grpc::ServerContext* sc, const v1::IssueWebFormTokenRequest* req,
                                             v1::IssueWebFormTokenResponse* resp) {
    return rpc_.Handle(sc, "IssueWebFormToken", [&](const RequestContext& rc) {
        if (!domain::IsSlug(req->form_id())) throw ApiError::InvalidArgument("form_id", kSlugRule);
        *resp = areas_.capture->IssueWebFormToken(rc, req->form_id());
    });
}

grpc::Status LeadsService::SubmitWebForm(grpc::ServerContext* sc, const v1::SubmitWebFormRequest* req,
                                         v1::SubmitWebFormResponse* resp) {
    return rpc_.Handle(sc, "SubmitWebForm", [&](const RequestContext& rc) {
        if (!domain::IsSlug(req->form_id())) {
            areas_.capture->CountRejection("invalid");
            throw ApiError::InvalidArgument("form_id", kSlugRule);
        }
        // The rest is checked by the capture area in the order that keeps bots from learning the rules.
        *resp = areas_.capture->SubmitWebForm(rc, *req);
    });
}

}  // namespace crm::leads
