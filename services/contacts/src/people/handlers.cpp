// The people RPCs of ContactsService: CreateContact, GetContact, ListContacts, UpdateContact, DeleteContact,
// SearchContacts. Every field is checked before anything is read or written.
#include "companies/companies.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "custom_fields/custom_fields.hpp"
#include "domain/update_mask.hpp"
#include "grpc_service.hpp"
#include "metrics.hpp"
#include "people/people.hpp"

namespace crm::contacts {

using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;

grpc::Status ContactsService::CreateContact(ServerContext* sc, const v1::CreateContactRequest* req,
                                            v1::CreateContactResponse* resp) {
    return rpc_.Handle(sc, "CreateContact", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        domain::CheckEtagSyntax(v, req->contact().etag(), "contact.etag");
        const domain::ContactCheck contact = domain::NormalizeContact(people::FieldsOf(req->contact()), settings_);
        v.Append(contact.violations);
        v.ThrowIfAny();
        try {
            *resp = people::CreateContact(db_, outbox_, *definitions_, rc, contact.contact, req->request_id(),
                                          req->allow_duplicate());
        } catch (const common::ApiError& e) {
            if (e.code() == grpc::StatusCode::ALREADY_EXISTS) metrics_->duplicate_rejections.Increment();
            throw;
        }
        metrics_->duplicates_on_create.Increment(static_cast<double>(resp->possible_duplicates_size()));
    });
}

grpc::Status ContactsService::GetContact(ServerContext* sc, const v1::GetContactRequest* req,
                                         v1::GetContactResponse* resp) {
    return rpc_.Handle(sc, "GetContact", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_contact() = people::GetContact(db_, rc, id);
        if (req->include_company() && !resp->contact().company_id().empty()) {
            try {
                *resp->mutable_company() = companies::GetCompany(db_, rc, resp->contact().company_id());
            } catch (const common::ApiError& e) {
                if (e.code() != grpc::StatusCode::NOT_FOUND) throw;  // deleted meanwhile: left out
            }
        }
    });
}

grpc::Status ContactsService::ListContacts(ServerContext* sc, const v1::ListContactsRequest* req,
                                           v1::ListContactsResponse* resp) {
    return rpc_.Handle(sc, "ListContacts", [&](const RequestContext& rc) {
        common::Violations v;
        people::ContactListQuery query;
        query.page_size = common::ResolvePageSize(req->page_size());
        query.page_token = req->page_token();
        query.tag = domain::NormalizeTagFilter(v, req->tag(), "tag");
        query.owner_id = domain::NormalizeOwnerFilter(v, req->owner_id(), "owner_id");
        if (!req->company_id().empty()) query.company_id = common::CheckId(v, req->company_id(), "company_id");
        const google::protobuf::Timestamp& after = req->updated_after();
        if (req->has_updated_after() && common::CheckTime(v, after.seconds(), after.nanos(), "updated_after")) {
            query.updated_after = rows::Micros(after);
        }
        query.show_deleted = req->show_deleted();
        v.ThrowIfAny();
        common::Page<v1::Contact> page = people::ListContacts(db_, rc, query);
        for (v1::Contact& contact : page.items) *resp->add_contacts() = std::move(contact);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status ContactsService::UpdateContact(ServerContext* sc, const v1::UpdateContactRequest* req,
                                            v1::UpdateContactResponse* resp) {
    return rpc_.Handle(sc, "UpdateContact", [&](const RequestContext& rc) {
        common::Violations v;
        people::ContactUpdate update;
        update.id = common::CheckId(v, req->contact().id(), "contact.id");
        update.mask_paths.assign(req->update_mask().paths().begin(), req->update_mask().paths().end());
        v.Append(domain::ValidateUpdateMask(domain::MaskedEntity::kContact, update.mask_paths));
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, req->contact().etag(), "contact.etag");
        update.patch = people::FieldsOf(req->contact());
        domain::RefuseControlCharacters(v, update.patch, "contact");
        v.ThrowIfAny();
        // The values the mask applies, each by its own rules, before the contact is read (a missing name is only
        // known against the stored contact, UpdateContact checks that).
        const std::vector<std::string> paths = domain::EffectiveContactMask(update.mask_paths, update.patch);
        domain::NormalizeContact(domain::ApplyContactMask({}, update.patch, paths), settings_, "contact", false)
            .violations.ThrowIfAny();
        update.expected_etag = req->etag().empty() ? req->contact().etag() : req->etag();
        *resp->mutable_contact() = people::UpdateContact(db_, outbox_, rc, settings_, update);
    });
}

grpc::Status ContactsService::DeleteContact(ServerContext* sc, const v1::DeleteContactRequest* req,
                                            v1::DeleteContactResponse* resp) {
    return rpc_.Handle(sc, "DeleteContact", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_contact() = people::DeleteContact(db_, outbox_, rc, id, req->etag());
    });
}

grpc::Status ContactsService::SearchContacts(ServerContext* sc, const v1::SearchContactsRequest* req,
                                             v1::SearchContactsResponse* resp) {
    return rpc_.Handle(sc, "SearchContacts", [&](const RequestContext& rc) {
        common::Violations v;
        const int page_size = common::ResolvePageSize(req->page_size());
        std::vector<domain::SearchTerm> terms;
        if (common::text::Trim(req->query()).empty()) {
            v.Add("query", "is required");
        } else if (common::CheckText(v, req->query(), "query",
                                     {.max_chars = domain::limits::kMaxSearchQueryLength, .multiline = true})) {
            terms = domain::ParseSearchQuery(req->query());
            if (terms.empty()) v.Add("query", "needs at least one letter or digit");
        }
        v.ThrowIfAny();
        common::Page<v1::Contact> page = people::SearchContacts(db_, rc, terms, page_size, req->page_token());
        for (v1::Contact& contact : page.items) *resp->add_contacts() = std::move(contact);
        resp->set_next_page_token(page.next_page_token);
    });
}

}  // namespace crm::contacts
