// The privacy RPCs of ContactsService: ExportContactData, EraseContact, UpdateContactConsent. Every field is checked
// before anything is read or written.
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/types.hpp"
#include "grpc_service.hpp"
#include "metrics.hpp"
#include "privacy/privacy.hpp"

namespace crm::contacts {

using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;

grpc::Status ContactsService::ExportContactData(ServerContext* sc, const v1::ExportContactDataRequest* req,
                                                v1::ExportContactDataResponse* resp) {
    return rpc_.Handle(sc, "ExportContactData", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        const privacy::ContactExport data = privacy::ExportContact(db_, rc, id);
        resp->set_json(privacy::ExportToJson(data));
        *resp->mutable_export_time() = data.export_time;
    });
}

grpc::Status ContactsService::EraseContact(ServerContext* sc, const v1::EraseContactRequest* req,
                                           v1::EraseContactResponse* resp) {
    return rpc_.Handle(sc, "EraseContact", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_contact() = privacy::EraseContact(db_, outbox_, rc, id);
        metrics_->erase_requests.Increment();
    });
}

grpc::Status ContactsService::UpdateContactConsent(ServerContext* sc, const v1::UpdateContactConsentRequest* req,
                                                   v1::UpdateContactConsentResponse* resp) {
    return rpc_.Handle(sc, "UpdateContactConsent", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        if (req->status() != v1::CONSENT_STATUS_OPTED_IN && req->status() != v1::CONSENT_STATUS_OPTED_OUT) {
            v.Add("status", "must be CONSENT_STATUS_OPTED_IN or CONSENT_STATUS_OPTED_OUT");
        }
        const std::string source = common::text::CollapseWhitespace(req->source());
        if (source.empty()) {
            v.Add("source", "is required, e.g. \"web_form\"");
        } else {
            common::CheckText(v, source, "source", {.max_chars = domain::limits::kMaxConsentSourceLength});
        }
        v.ThrowIfAny();
        *resp->mutable_contact() = privacy::UpdateConsent(db_, outbox_, rc, id, req->status(), source);
    });
}

}  // namespace crm::contacts
