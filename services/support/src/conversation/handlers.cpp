// RPCs of the conversation area: AddCaseMessage, ListCaseMessages.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "conversation/conversation.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "grpc_service.hpp"

namespace crm::support {
namespace {

using common::RequestContext;
constexpr std::int64_t kFutureSkewSeconds = 60;

// The entry's client-settable fields checked (domain::NormalizeMessage and the enums), normalized.
v1::CaseMessage CheckedMessage(const v1::CaseMessage& m, common::Violations& v) {
    if (m.kind() == v1::MESSAGE_KIND_UNSPECIFIED || !v1::MessageKind_IsValid(m.kind())) {
        v.Add("message.kind", "required: CUSTOMER_MESSAGE, PUBLIC_REPLY or INTERNAL_NOTE");
    }
    if (!v1::Channel_IsValid(m.channel())) v.Add("message.channel", "unknown channel");
    domain::MessageFields f{.author_name = m.author_name(), .body = m.body(), .external_id = m.external_id()};
    for (const auto& a : m.attachments()) {
        f.attachments.push_back({.file_name = a.file_name(),
                                 .content_type = a.content_type(),
                                 .storage_ref = a.storage_ref(),
                                 .size_bytes = a.size_bytes()});
    }
    if (m.has_phone_call()) {
        const auto& c = m.phone_call();
        f.phone_call = domain::PhoneCallFields{.external_call_id = c.external_call_id(),
                                               .from_number = c.from_number(),
                                               .to_number = c.to_number(),
                                               .recording_ref = c.recording_ref(),
                                               .duration_seconds = c.duration_seconds()};
    }
    v.Append(domain::NormalizeMessage(f, "message."));
    if (m.has_occur_time() &&
        common::CheckTime(v, m.occur_time().seconds(), m.occur_time().nanos(), "message.occur_time")) {
        const auto now =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        if (m.occur_time().seconds() > now + kFutureSkewSeconds)
            v.Add("message.occur_time", "must not be in the future");
    }
    v1::CaseMessage out = m;
    out.set_author_name(f.author_name);
    return out;
}

}  // namespace

grpc::Status SupportService::AddCaseMessage(grpc::ServerContext* sc, const v1::AddCaseMessageRequest* req,
                                            v1::AddCaseMessageResponse* resp) {
    return rpc_.Handle(sc, "AddCaseMessage", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string case_id = common::CheckId(v, req->case_id(), "case_id");
        common::CheckRequestId(v, req->request_id());
        const v1::CaseMessage message = CheckedMessage(req->message(), v);
        if (req->solve() && message.kind() != v1::MESSAGE_KIND_PUBLIC_REPLY) {
            v.Add("solve", "only a PUBLIC_REPLY solves a case");
        }
        v.ThrowIfAny();
        auto added = areas_.conversation->Add(rc, case_id, message, req->request_id(), req->solve());
        *resp->mutable_message() = std::move(added.message);
        *resp->mutable_case_() = std::move(added.c);
        resp->set_csat_survey_id(added.csat_survey_id);
    });
}

grpc::Status SupportService::ListCaseMessages(grpc::ServerContext* sc, const v1::ListCaseMessagesRequest* req,
                                              v1::ListCaseMessagesResponse* resp) {
    return rpc_.Handle(sc, "ListCaseMessages", [&](const RequestContext& rc) {
        conversation::ListQuery q;
        q.page_size = common::ResolvePageSize(req->page_size());
        q.page_token = req->page_token();
        q.public_only = req->public_only();
        common::Violations v;
        q.case_id = common::CheckId(v, req->case_id(), "case_id");
        v.ThrowIfAny();
        common::Page<v1::CaseMessage> page = areas_.conversation->List(rc, q);
        for (auto& m : page.items) *resp->add_messages() = std::move(m);
        resp->set_next_page_token(page.next_page_token);
    });
}

}  // namespace crm::support
