#include "crm/clients/contacts.hpp"

#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/violations.hpp"

namespace crm::clients {
namespace {

namespace cv1 = crm::contacts::v1;
using common::ApiError;

// A failure of contacts itself (not an answer about the record): nothing could be checked, so nothing is written.
[[noreturn]] void ThrowUnchecked(const char* rpc, const grpc::Status& s) {
    common::log::Warn(
        "contacts call failed",
        {{"target", "contacts"}, {"target_rpc", rpc}, {"target_code", common::StatusCodeName(s.error_code())}});
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        throw ApiError::DeadlineExceeded("the contacts service did not answer in time; nothing was checked");
    }
    throw ApiError::Unavailable("the contacts service is unavailable; the links cannot be checked, retry later");
}

}  // namespace

struct ContactsClient::Impl {
    std::unique_ptr<cv1::ContactsService::Stub> contacts;

    const cv1::ContactsService::Stub& Require(const ContactsSettings& s, const char* what) const {
        if (!contacts) {
            throw ApiError::FailedPrecondition(std::string(what) + ": the " + s.caller +
                                                   " service has no contacts address (" + s.address_variable + ")",
                                               "LINKS_UNCHECKABLE");
        }
        return *contacts;
    }
};

ContactsClient::ContactsClient(ContactsSettings settings)
    : settings_(std::move(settings)), impl_(std::make_unique<Impl>()) {
    if (!settings_.contacts_addr.empty()) {
        impl_->contacts = cv1::ContactsService::NewStub(
            common::MakeDownstreamChannel(settings_.contacts_addr, common::MakeChannelCredentials(settings_.tls)));
    }
}

ContactsClient::~ContactsClient() = default;

void ContactsClient::CheckLinks(const common::RequestContext& rc, const std::string& contact_id,
                                const std::string& company_id, const std::string& prefix) const {
    if (contact_id.empty() && company_id.empty()) return;
    impl_->Require(settings_, "contact and company links cannot be checked");
    common::Violations violations;
    if (!contact_id.empty()) {
        grpc::ClientContext ctx;
        common::PrepareDownstreamCall(ctx, rc, settings_.internal_key, settings_.call_timeout);
        cv1::GetContactRequest req;
        req.set_id(contact_id);
        cv1::GetContactResponse resp;
        const grpc::Status s = impl_->contacts->GetContact(&ctx, req, &resp);
        const std::string field = prefix + "contact_id";
        if (s.error_code() == grpc::StatusCode::NOT_FOUND || s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
            violations.Add(field, "no contact with this id");
        } else if (!s.ok()) {
            ThrowUnchecked("GetContact", s);
        } else if (resp.contact().state() == cv1::CONTACT_STATE_MERGED) {
            violations.Add(field, "the contact was merged into " + resp.contact().merged_into_id() + "; link that one");
        } else if (resp.contact().state() == cv1::CONTACT_STATE_ERASED) {
            violations.Add(field, "the contact was erased");
        } else if (resp.contact().has_delete_time()) {
            violations.Add(field, "the contact is deleted");
        }
    }
    if (!company_id.empty()) {
        grpc::ClientContext ctx;
        common::PrepareDownstreamCall(ctx, rc, settings_.internal_key, settings_.call_timeout);
        cv1::GetCompanyRequest req;
        req.set_id(company_id);
        cv1::GetCompanyResponse resp;
        const grpc::Status s = impl_->contacts->GetCompany(&ctx, req, &resp);
        const std::string field = prefix + "company_id";
        if (s.error_code() == grpc::StatusCode::NOT_FOUND || s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
            violations.Add(field, "no company with this id");
        } else if (!s.ok()) {
            ThrowUnchecked("GetCompany", s);
        } else if (resp.company().has_delete_time()) {
            violations.Add(field, "the company is deleted");
        }
    }
    violations.ThrowIfAny();
}

std::string ContactsClient::FindOrCreateByEmail(const common::RequestContext& rc, const std::string& email,
                                                const std::string& display_name, const std::string& key_scope) const {
    impl_->Require(settings_, "the sender cannot be linked to a contact");
    grpc::ClientContext ctx;
    common::PrepareDownstreamCall(ctx, rc, settings_.internal_key, settings_.call_timeout);
    cv1::CreateContactRequest req;
    req.mutable_contact()->set_email(email);
    const std::size_t space = display_name.rfind(' ');
    if (space != std::string::npos && space > 0) {
        req.mutable_contact()->set_given_name(display_name.substr(0, space));
        req.mutable_contact()->set_family_name(display_name.substr(space + 1));
    } else {
        req.mutable_contact()->set_given_name(display_name);
    }
    req.set_request_id(key_scope + "-" + common::HexEncode(common::Sha256(email)).substr(0, 40));
    cv1::CreateContactResponse resp;
    const grpc::Status s = impl_->contacts->CreateContact(&ctx, req, &resp);
    if (s.ok()) return resp.contact().id();
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
        const auto detail = common::ReadErrorDetail(s);
        auto it = detail.metadata.find("existing_id");
        if (it != detail.metadata.end()) return it->second;
    }
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) return "";  // contacts refuses the address or name
    ThrowUnchecked("CreateContact", s);
}

}  // namespace crm::clients
