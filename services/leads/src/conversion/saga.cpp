#include "conversion/saga.hpp"

#include <grpcpp/grpcpp.h>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/failpoint.hpp"
#include "crm/common/log.hpp"
#include "crm/common/rpc.hpp"
#include "crm/contacts/v1/contacts.grpc.pb.h"
#include "crm/sales/v1/sales.grpc.pb.h"

namespace crm::leads::conversion {
namespace {

namespace cv1 = crm::contacts::v1;
namespace sv1 = crm::sales::v1;
using common::ApiError;

// A failed call to another service, as our client should see it.
[[noreturn]] void ThrowDownstream(const char* service, const char* rpc, const grpc::Status& s) {
    common::log::Warn(
        "downstream call failed",
        {{"target", service}, {"target_rpc", rpc}, {"target_code", common::StatusCodeName(s.error_code())}});
    switch (s.error_code()) {
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::FAILED_PRECONDITION:
            throw ApiError::FailedPrecondition(
                std::string(service) + " refused the lead's data (" + rpc + "): " + s.error_message(),
                "DOWNSTREAM_REJECTED");
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            throw ApiError::DeadlineExceeded(std::string(service) + " did not answer in time");
        default:
            throw ApiError::Unavailable(std::string(service) + " is unavailable; retry the conversion");
    }
}

// The active record that contacts refused to duplicate (the same normalized company domain or name, the same
// contact email): contacts names it in the ErrorInfo metadata of its ALREADY_EXISTS status.
std::string ExistingId(const grpc::Status& s, const char* method) {
    const common::ErrorDetail detail = common::ReadErrorDetail(s);
    const auto it = detail.metadata.find("existing_id");
    if (it == detail.metadata.end() || !common::IsUuid(it->second)) ThrowDownstream("contacts", method, s);
    return it->second;
}

// A record in contacts: created by this call, or the existing one it was linked to.
struct Linked {
    std::string id;
    bool existed = false;
};

}  // namespace

struct Saga::Impl {
    Settings settings;
    std::unique_ptr<cv1::ContactsService::Stub> contacts;
    std::unique_ptr<sv1::SalesService::Stub> sales;

    void Prepare(grpc::ClientContext& ctx, const common::RequestContext& rc) const {
        common::PrepareDownstreamCall(ctx, rc, settings.internal_key, settings.call_timeout);
    }

    // The company, or the one contacts reports as the same.
    Linked Company(const common::RequestContext& rc, const v1::Lead& lead, const std::string& key) const {
        cv1::CreateCompanyRequest req;
        req.set_request_id(key + "-company");
        req.mutable_company()->set_name(lead.company_name());
        req.mutable_company()->set_owner_id(lead.owner_id());
        cv1::CreateCompanyResponse resp;
        grpc::ClientContext ctx;
        Prepare(ctx, rc);
        const grpc::Status s = contacts->CreateCompany(&ctx, req, &resp);
        if (s.ok()) return {resp.company().id(), false};
        if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return {ExistingId(s, "CreateCompany"), true};
        ThrowDownstream("contacts", "CreateCompany", s);
    }

    // The active contact with the lead's phone (exactly, after normalization) and a similar name, if contacts knows
    // one; "" otherwise. Read-only, so a retried conversion decides the same way (or links the contact that the
    // interrupted attempt created).
    std::string SamePersonByPhone(const common::RequestContext& rc, const v1::Lead& lead) const {
        cv1::FindDuplicatesRequest req;
        req.mutable_candidate()->set_given_name(lead.given_name());
        req.mutable_candidate()->set_family_name(lead.family_name());
        req.mutable_candidate()->set_phone(lead.phone());
        cv1::FindDuplicatesResponse resp;
        grpc::ClientContext ctx;
        Prepare(ctx, rc);
        const grpc::Status s = contacts->FindDuplicates(&ctx, req, &resp);
        if (!s.ok()) ThrowDownstream("contacts", "FindDuplicates", s);
        for (const auto& match : resp.matches()) {  // best first
            bool phone = false, name = false;
            for (int reason : match.reasons()) {
                phone |= reason == cv1::DUPLICATE_REASON_PHONE_EXACT;
                name |= reason == cv1::DUPLICATE_REASON_NAME_SIMILAR;
            }
            if (phone && name) return match.contact().id();
        }
        return "";
    }

    // The person, or the one contacts reports with the same email.
    Linked Contact(const common::RequestContext& rc, const v1::Lead& lead, const std::string& key,
                   const std::string& company_id) const {
        cv1::CreateContactRequest req;
        req.set_request_id(key + "-contact");
        auto* c = req.mutable_contact();
        c->set_given_name(lead.given_name());
        c->set_family_name(lead.family_name());
        c->set_email(lead.email());
        c->set_phone(lead.phone());
        c->set_job_title(lead.job_title());
        c->set_company_id(company_id);
        c->set_owner_id(lead.owner_id());
        cv1::CreateContactResponse resp;
        grpc::ClientContext ctx;
        Prepare(ctx, rc);
        const grpc::Status s = contacts->CreateContact(&ctx, req, &resp);
        if (s.ok()) return {resp.contact().id(), false};
        if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return {ExistingId(s, "CreateContact"), true};
        ThrowDownstream("contacts", "CreateContact", s);
    }

    std::string Opportunity(const common::RequestContext& rc, const v1::Lead& lead, const v1::OpportunitySpec& spec,
                            const v1::LeadConversion& ids, const std::string& key) const {
        sv1::CreateOpportunityRequest req;
        req.set_request_id(key + "-opportunity");
        auto* o = req.mutable_opportunity();
        o->set_name(spec.name());
        *o->mutable_amount() = spec.amount();
        o->set_expected_close_date(spec.expected_close_date());
        o->set_pipeline_id(spec.pipeline_id());
        o->set_owner_id(lead.owner_id());
        o->set_contact_id(ids.contact_id());
        o->set_company_id(ids.company_id());
        o->set_source_campaign_id(lead.campaign_id());
        o->set_lead_id(lead.id());
        sv1::CreateOpportunityResponse resp;
        grpc::ClientContext ctx;
        Prepare(ctx, rc);
        const grpc::Status s = sales->CreateOpportunity(&ctx, req, &resp);
        if (!s.ok()) ThrowDownstream("sales", "CreateOpportunity", s);
        return resp.opportunity().id();
    }
};

Saga::Saga(const Settings& settings) : impl_(std::make_unique<Impl>()) {
    impl_->settings = settings;
    const auto credentials = common::MakeChannelCredentials(settings.upstream_tls);
    if (!settings.contacts_addr.empty()) {
        impl_->contacts =
            cv1::ContactsService::NewStub(common::MakeDownstreamChannel(settings.contacts_addr, credentials));
    }
    if (!settings.sales_addr.empty()) {
        impl_->sales = sv1::SalesService::NewStub(common::MakeDownstreamChannel(settings.sales_addr, credentials));
    }
}

Saga::~Saga() = default;

v1::LeadConversion Saga::Run(const common::RequestContext& rc, const v1::Lead& lead,
                             const v1::ConvertLeadRequest& req) {
    if (req.create_opportunity() && !impl_->sales) {
        throw ApiError::FailedPrecondition("opportunities cannot be created: no sales service is configured",
                                           "SALES_NOT_CONFIGURED");
    }
    if (!impl_->contacts) throw ApiError::Unavailable("no contacts service is configured");
    v1::LeadConversion ids;
    const std::string key = "lead-" + lead.id();
    if (!lead.company_name().empty() && !req.skip_company()) {
        const Linked company = impl_->Company(rc, lead, key);
        ids.set_company_id(company.id);
        ids.set_company_existed(company.existed);
    }
    // Without an email contacts cannot refuse a duplicate person; the same phone and a similar name identify one.
    if (lead.email().empty() && !lead.phone().empty()) {
        ids.set_contact_id(impl_->SamePersonByPhone(rc, lead));
        ids.set_contact_existed(!ids.contact_id().empty());
    }
    if (ids.contact_id().empty()) {
        const Linked contact = impl_->Contact(rc, lead, key, ids.company_id());
        ids.set_contact_id(contact.id);
        ids.set_contact_existed(contact.existed);
    }
    // Tests crash the process here to prove that a retry creates nothing twice (CRM_FAILPOINTS).
    common::Failpoint("leads.convert.after_contacts");
    if (req.create_opportunity()) ids.set_opportunity_id(impl_->Opportunity(rc, lead, req.opportunity(), ids, key));
    return ids;
}

}  // namespace crm::leads::conversion
