#include "cases/contacts_check.hpp"

#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"

namespace crm::support::cases {
namespace {

namespace cv1 = crm::contacts::v1;
using common::ApiError;

// A failure of contacts itself (not an answer about the record): the link cannot be checked, so nothing is written.
[[noreturn]] void ThrowUnchecked(const char* rpc, const grpc::Status& s) {
    common::log::Warn(
        "link check failed",
        {{"target", "contacts"}, {"target_rpc", rpc}, {"target_code", common::StatusCodeName(s.error_code())}});
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        throw ApiError::DeadlineExceeded("the contacts service did not answer in time; the links were not checked");
    }
    throw ApiError::Unavailable("the contacts service is unavailable; the links cannot be checked, retry later");
}

}  // namespace

struct ContactsCheck::Impl {
    std::unique_ptr<cv1::ContactsService::Stub> contacts;
};

ContactsCheck::ContactsCheck(ContactsSettings settings)
    : settings_(std::move(settings)), impl_(std::make_unique<Impl>()) {
    if (!settings_.contacts_addr.empty()) {
        impl_->contacts = cv1::ContactsService::NewStub(
            common::MakeDownstreamChannel(settings_.contacts_addr, common::MakeChannelCredentials(settings_.tls)));
    }
}

ContactsCheck::~ContactsCheck() = default;

void ContactsCheck::Check(const common::RequestContext& rc, const std::string& contact_id,
                          const std::string& company_id, const std::string& prefix) const {
    if (contact_id.empty() && company_id.empty()) return;
    if (!impl_->contacts) {
        throw ApiError::FailedPrecondition(
            "contact and company links cannot be checked: the support service has no contacts address "
            "(CRM_SUPPORT_CONTACTS_ADDR)",
            "LINKS_UNCHECKABLE");
    }
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

std::string ContactsCheck::FindOrCreateByEmail(const common::RequestContext& rc, const std::string& email,
                                               const std::string& display_name) const {
    if (!impl_->contacts) {
        throw ApiError::FailedPrecondition(
            "the sender cannot be linked to a contact: the support service has no contacts address "
            "(CRM_SUPPORT_CONTACTS_ADDR)",
            "LINKS_UNCHECKABLE");
    }
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
    req.set_request_id("support-email-" + common::HexEncode(common::Sha256(email)).substr(0, 40));
    cv1::CreateContactResponse resp;
    const grpc::Status s = impl_->contacts->CreateContact(&ctx, req, &resp);
    if (s.ok()) return resp.contact().id();
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
        const auto detail = common::ReadErrorDetail(s);
        auto it = detail.metadata.find("existing_id");
        if (it != detail.metadata.end()) return it->second;
    }
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
        // The address or name does not pass contacts' checks: the case is opened without a contact.
        return "";
    }
    ThrowUnchecked("CreateContact", s);
}

}  // namespace crm::support::cases
