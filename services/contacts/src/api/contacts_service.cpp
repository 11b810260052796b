#include "api/contacts_service.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <set>

#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/contacts/v1/contacts.grpc.pb.h"
#include "domain/normalize.hpp"
#include "domain/update_mask.hpp"
#include "mapping/proto_mapping.hpp"
#include "storage/repository.hpp"
#include "support/violations.hpp"

namespace crm::contacts::api {
namespace {

namespace v1 = crm::contacts::v1;
using common::ApiError;
using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;

constexpr int kDuplicatesDefault = 10;
constexpr int kDuplicatesMax = 50;

// Collects the problems of one request so that the client hears all of them at once; ids and request ids are
// checked by the suite-wide rules of common/resource.hpp.
class Checks {
  public:
    // A required resource id: a UUID, returned lowercased.
    std::string Id(const std::string& value, const std::string& field) {
        return common::CheckId(errors_, value, field);
    }

    // An optional idempotency key.
    void RequestId(const std::string& value) { common::CheckRequestId(errors_, value); }

    std::optional<domain::Timestamp> Time(const google::protobuf::Timestamp& value, bool present,
                                          const std::string& field) {
        if (!present) return std::nullopt;
        // 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, as google.protobuf.Timestamp defines it.
        if (value.seconds() < -62135596800 || value.seconds() > 253402300799 || value.nanos() < 0 ||
            value.nanos() > 999999999) {
            Add(field, "is not a valid timestamp");
            return std::nullopt;
        }
        return mapping::FromProto(value);
    }

    std::string Tag(const std::string& value, const std::string& field) {
        if (value.empty()) return {};
        domain::Normalized tag = domain::NormalizeTag(value);
        if (!tag.ok()) Add(field, tag.error);
        return tag.value;
    }

    void Add(const std::string& field, const std::string& description) { errors_.Add(field, description); }
    void Append(const domain::FieldViolations& more) { errors_.Append(more); }
    void ThrowIfAny() const { errors_.ThrowIfAny(); }

  private:
    common::Violations errors_;
};

std::string ExpectedEtag(const std::string& request_etag, const std::string& resource_etag) {
    return request_etag.empty() ? resource_etag : request_etag;
}

// The service's own metrics (crm_contacts_*), next to the standard RPC metrics of the common runtime.
struct ContactsMetrics {
    prometheus::Family<prometheus::Counter>& possible_duplicates;
    prometheus::Counter& duplicates_on_create;
    prometheus::Counter& duplicates_on_find;
    prometheus::Counter& duplicate_rejections;
    prometheus::Counter& merge_requests;
    prometheus::Counter& merged_contacts;
    prometheus::Counter& erase_requests;

    explicit ContactsMetrics(common::Metrics& m)
        : possible_duplicates(prometheus::BuildCounter()
                                  .Name("crm_contacts_possible_duplicates_total")
                                  .Help("Likely duplicates reported to callers, by RPC.")
                                  .Register(m.registry())),
          duplicates_on_create(possible_duplicates.Add({{"rpc", "CreateContact"}})),
          duplicates_on_find(possible_duplicates.Add({{"rpc", "FindDuplicates"}})),
          duplicate_rejections(prometheus::BuildCounter()
                                   .Name("crm_contacts_duplicate_rejections_total")
                                   .Help("Creates refused because an active contact has the same email.")
                                   .Register(m.registry())
                                   .Add({})),
          merge_requests(prometheus::BuildCounter()
                             .Name("crm_contacts_merge_requests_total")
                             .Help("MergeContacts calls that succeeded (retries with the same request_id included).")
                             .Register(m.registry())
                             .Add({})),
          merged_contacts(prometheus::BuildCounter()
                              .Name("crm_contacts_merged_contacts_total")
                              .Help("Losers named by successful MergeContacts calls.")
                              .Register(m.registry())
                              .Add({})),
          erase_requests(prometheus::BuildCounter()
                             .Name("crm_contacts_erase_requests_total")
                             .Help("EraseContact calls that succeeded (GDPR erasure).")
                             .Register(m.registry())
                             .Add({})) {}
};

class ContactsService final : public v1::ContactsService::Service {
  public:
    ContactsService(common::RpcRuntime& rpc, common::Metrics& metrics, std::shared_ptr<storage::Repository> repository,
                    domain::NormalizeSettings settings)
        : rpc_(rpc), metrics_(metrics), repo_(std::move(repository)), settings_(std::move(settings)) {}

    Status CreateContact(ServerContext* sc, const v1::CreateContactRequest* req,
                         v1::CreateContactResponse* resp) override {
        return rpc_.Handle(sc, "CreateContact", [&](const RequestContext& rc) {
            Checks checks;
            checks.RequestId(req->request_id());
            const domain::ContactCheck contact =
                domain::NormalizeContact(mapping::ContactFieldsFromProto(req->contact()), settings_);
            checks.Append(contact.violations);
            checks.ThrowIfAny();
            storage::CreateContactResult result;
            try {
                result = repo_->CreateContact(rc, contact.contact, req->request_id(), req->allow_duplicate());
            } catch (const ApiError& e) {
                if (e.code() == grpc::StatusCode::ALREADY_EXISTS) metrics_.duplicate_rejections.Increment();
                throw;
            }
            metrics_.duplicates_on_create.Increment(static_cast<double>(result.possible_duplicates.size()));
            *resp->mutable_contact() = mapping::ToProto(result.contact);
            for (const auto& match : result.possible_duplicates) {
                *resp->add_possible_duplicates() = mapping::ToProto(match);
            }
        });
    }

    Status GetContact(ServerContext* sc, const v1::GetContactRequest* req, v1::GetContactResponse* resp) override {
        return rpc_.Handle(sc, "GetContact", [&](const RequestContext& rc) {
            Checks checks;
            const std::string id = checks.Id(req->id(), "id");
            checks.ThrowIfAny();
            *resp->mutable_contact() = mapping::ToProto(repo_->GetContact(rc, id));
        });
    }

    Status ListContacts(ServerContext* sc, const v1::ListContactsRequest* req,
                        v1::ListContactsResponse* resp) override {
        return rpc_.Handle(sc, "ListContacts", [&](const RequestContext& rc) {
            Checks checks;
            storage::ContactListQuery query;
            query.page_size = common::ResolvePageSize(req->page_size());
            query.page_token = req->page_token();
            query.tag = checks.Tag(req->tag(), "tag");
            query.owner_id = common::text::Trim(req->owner_id());
            if (!req->company_id().empty()) query.company_id = checks.Id(req->company_id(), "company_id");
            query.updated_after = checks.Time(req->updated_after(), req->has_updated_after(), "updated_after");
            query.show_deleted = req->show_deleted();
            checks.ThrowIfAny();
            domain::Page<domain::Contact> page = repo_->ListContacts(rc, query);
            for (const auto& contact : page.items) *resp->add_contacts() = mapping::ToProto(contact);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status UpdateContact(ServerContext* sc, const v1::UpdateContactRequest* req,
                         v1::UpdateContactResponse* resp) override {
        return rpc_.Handle(sc, "UpdateContact", [&](const RequestContext& rc) {
            Checks checks;
            storage::Update<domain::ContactFields> update;
            update.id = checks.Id(req->contact().id(), "contact.id");
            update.mask_paths.assign(req->update_mask().paths().begin(), req->update_mask().paths().end());
            checks.Append(domain::ValidateUpdateMask(domain::MaskedEntity::kContact, update.mask_paths));
            checks.ThrowIfAny();
            update.patch = mapping::ContactFieldsFromProto(req->contact());
            update.expected_etag = ExpectedEtag(req->etag(), req->contact().etag());
            *resp->mutable_contact() = mapping::ToProto(repo_->UpdateContact(rc, update));
        });
    }

    Status DeleteContact(ServerContext* sc, const v1::DeleteContactRequest* req,
                         v1::DeleteContactResponse* resp) override {
        return rpc_.Handle(sc, "DeleteContact", [&](const RequestContext& rc) {
            Checks checks;
            const std::string id = checks.Id(req->id(), "id");
            checks.ThrowIfAny();
            *resp->mutable_contact() = mapping::ToProto(repo_->DeleteContact(rc, id, req->etag()));
        });
    }

    Status SearchContacts(ServerContext* sc, const v1::SearchContactsRequest* req,
                          v1::SearchContactsResponse* resp) override {
        return rpc_.Handle(sc, "SearchContacts", [&](const RequestContext& rc) {
            Checks checks;
            const int page_size = common::ResolvePageSize(req->page_size());
            std::vector<domain::SearchTerm> terms;
            if (common::text::Trim(req->query()).empty()) {
                checks.Add("query", "is required");
            } else if (common::text::Utf8Length(req->query()) > domain::limits::kMaxSearchQueryLength) {
                checks.Add("query", "is longer than 200 characters");
            } else {
                terms = domain::ParseSearchQuery(req->query());
                if (terms.empty()) checks.Add("query", "needs at least one letter or digit");
            }
            checks.ThrowIfAny();
            domain::Page<domain::Contact> page = repo_->SearchContacts(rc, terms, page_size, req->page_token());
            for (const auto& contact : page.items) *resp->add_contacts() = mapping::ToProto(contact);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status FindDuplicates(ServerContext* sc, const v1::FindDuplicatesRequest* req,
                          v1::FindDuplicatesResponse* resp) override {
        return rpc_.Handle(sc, "FindDuplicates", [&](const RequestContext& rc) {
            Checks checks;
            const int limit = common::ResolvePageSize(req->page_size(), kDuplicatesDefault, kDuplicatesMax);
            std::vector<domain::DuplicateMatch> matches;
            if (req->has_candidate()) {
                const domain::ContactCheck candidate = domain::NormalizeContact(
                    mapping::ContactFieldsFromProto(req->candidate()), settings_, "candidate", false);
                checks.Append(candidate.violations);
                const domain::ContactFields& f = candidate.contact;
                const domain::DuplicateProbe probe{.email = f.email,
                                                   .phone = f.phone,
                                                   .name = domain::NormalizeFullName(f.given_name, f.family_name),
                                                   .company_id = f.company_id};
                if (candidate.violations.empty() && probe.email.empty() && probe.phone.empty() && probe.name.empty()) {
                    checks.Add("candidate", "needs a name, an email or a phone number");
                }
                checks.ThrowIfAny();
                matches = repo_->FindDuplicates(rc, probe, limit);
            } else {
                const std::string id = checks.Id(req->contact_id(), "contact_id");
                checks.ThrowIfAny();
                matches = repo_->FindDuplicatesOf(rc, id, limit);
            }
            for (const auto& match : matches) *resp->add_matches() = mapping::ToProto(match);
            metrics_.duplicates_on_find.Increment(static_cast<double>(matches.size()));
        });
    }

    Status MergeContacts(ServerContext* sc, const v1::MergeContactsRequest* req,
                         v1::MergeContactsResponse* resp) override {
        return rpc_.Handle(sc, "MergeContacts", [&](const RequestContext& rc) {
            Checks checks;
            const std::string survivor = checks.Id(req->survivor_id(), "survivor_id");
            checks.RequestId(req->request_id());
            const int count = req->loser_ids_size();
            if (count < static_cast<int>(domain::limits::kMinMergeLosers) ||
                count > static_cast<int>(domain::limits::kMaxMergeLosers)) {
                checks.Add("loser_ids", "must name 1 to 10 contacts");
            }
            std::vector<std::string> losers;
            std::set<std::string> seen = {survivor};
            for (int i = 0; i < count; ++i) {
                const std::string field = "loser_ids[" + std::to_string(i) + "]";
                std::string id = checks.Id(req->loser_ids(i), field);
                if (id.empty()) continue;
                if (!seen.insert(id).second) {
                    checks.Add(field, id == survivor ? "must differ from survivor_id" : "is listed twice");
                    continue;
                }
                losers.push_back(std::move(id));
            }
            checks.ThrowIfAny();
            *resp->mutable_contact() =
                mapping::ToProto(repo_->MergeContacts(rc, survivor, losers, req->request_id(), req->survivor_etag()));
            metrics_.merge_requests.Increment();
            metrics_.merged_contacts.Increment(static_cast<double>(losers.size()));
        });
    }

    Status ExportContactData(ServerContext* sc, const v1::ExportContactDataRequest* req,
                             v1::ExportContactDataResponse* resp) override {
        return rpc_.Handle(sc, "ExportContactData", [&](const RequestContext& rc) {
            Checks checks;
            const std::string id = checks.Id(req->id(), "id");
            checks.ThrowIfAny();
            const domain::ContactExport data = repo_->ExportContact(rc, id);
            resp->set_json(mapping::ExportToJson(data));
            *resp->mutable_export_time() = mapping::ToProto(data.export_time);
        });
    }

    Status EraseContact(ServerContext* sc, const v1::EraseContactRequest* req,
                        v1::EraseContactResponse* resp) override {
        return rpc_.Handle(sc, "EraseContact", [&](const RequestContext& rc) {
            Checks checks;
            const std::string id = checks.Id(req->id(), "id");
            checks.ThrowIfAny();
            *resp->mutable_contact() = mapping::ToProto(repo_->EraseContact(rc, id));
            metrics_.erase_requests.Increment();
        });
    }

    Status UpdateContactConsent(ServerContext* sc, const v1::UpdateContactConsentRequest* req,
                                v1::UpdateContactConsentResponse* resp) override {
        return rpc_.Handle(sc, "UpdateContactConsent", [&](const RequestContext& rc) {
            Checks checks;
            const std::string id = checks.Id(req->id(), "id");
            domain::ConsentStatus status = domain::ConsentStatus::kUnknown;
            if (req->status() == v1::CONSENT_STATUS_OPTED_IN) {
                status = domain::ConsentStatus::kOptedIn;
            } else if (req->status() == v1::CONSENT_STATUS_OPTED_OUT) {
                status = domain::ConsentStatus::kOptedOut;
            } else {
                checks.Add("status", "must be CONSENT_STATUS_OPTED_IN or CONSENT_STATUS_OPTED_OUT");
            }
            const std::string source = common::text::CollapseWhitespace(req->source());
            if (source.empty()) {
                checks.Add("source", "is required, e.g. \"web_form\"");
            } else if (common::text::Utf8Length(source) > domain::limits::kMaxConsentSourceLength ||
                       common::text::HasControlCharacters(source)) {
                checks.Add("source", "must be at most 200 characters without control characters");
            }
            checks.ThrowIfAny();
            *resp->mutable_contact() = mapping::ToProto(repo_->UpdateConsent(rc, id, status, source));
        });
    }

    Status CreateCompany(ServerContext* sc, const v1::CreateCompanyRequest* req,
                         v1::CreateCompanyResponse* resp) override {
        return rpc_.Handle(sc, "CreateCompany", [&](const RequestContext& rc) {
            Checks checks;
            checks.RequestId(req->request_id());
            const domain::CompanyCheck company =
                domain::NormalizeCompany(mapping::CompanyFieldsFromProto(req->company()));
            checks.Append(company.violations);
            checks.ThrowIfAny();
            *resp->mutable_company() = mapping::ToProto(repo_->CreateCompany(rc, company.company, req->request_id()));
        });
    }

    Status GetCompany(ServerContext* sc, const v1::GetCompanyRequest* req, v1::GetCompanyResponse* resp) override {
        return rpc_.Handle(sc, "GetCompany", [&](const RequestContext& rc) {
            Checks checks;
            const std::string id = checks.Id(req->id(), "id");
            checks.ThrowIfAny();
            *resp->mutable_company() = mapping::ToProto(repo_->GetCompany(rc, id));
        });
    }

    Status ListCompanies(ServerContext* sc, const v1::ListCompaniesRequest* req,
                         v1::ListCompaniesResponse* resp) override {
        return rpc_.Handle(sc, "ListCompanies", [&](const RequestContext& rc) {
            Checks checks;
            storage::CompanyListQuery query;
            query.page_size = common::ResolvePageSize(req->page_size());
            query.page_token = req->page_token();
            query.tag = checks.Tag(req->tag(), "tag");
            query.owner_id = common::text::Trim(req->owner_id());
            query.updated_after = checks.Time(req->updated_after(), req->has_updated_after(), "updated_after");
            query.show_deleted = req->show_deleted();
            checks.ThrowIfAny();
            domain::Page<domain::Company> page = repo_->ListCompanies(rc, query);
            for (const auto& company : page.items) *resp->add_companies() = mapping::ToProto(company);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status UpdateCompany(ServerContext* sc, const v1::UpdateCompanyRequest* req,
                         v1::UpdateCompanyResponse* resp) override {
        return rpc_.Handle(sc, "UpdateCompany", [&](const RequestContext& rc) {
            Checks checks;
            storage::Update<domain::CompanyFields> update;
            update.id = checks.Id(req->company().id(), "company.id");
            update.mask_paths.assign(req->update_mask().paths().begin(), req->update_mask().paths().end());
            checks.Append(domain::ValidateUpdateMask(domain::MaskedEntity::kCompany, update.mask_paths));
            checks.ThrowIfAny();
            update.patch = mapping::CompanyFieldsFromProto(req->company());
            update.expected_etag = ExpectedEtag(req->etag(), req->company().etag());
            *resp->mutable_company() = mapping::ToProto(repo_->UpdateCompany(rc, update));
        });
    }

    Status DeleteCompany(ServerContext* sc, const v1::DeleteCompanyRequest* req,
                         v1::DeleteCompanyResponse* resp) override {
        return rpc_.Handle(sc, "DeleteCompany", [&](const RequestContext& rc) {
            Checks checks;
            const std::string id = checks.Id(req->id(), "id");
            checks.ThrowIfAny();
            *resp->mutable_company() = mapping::ToProto(repo_->DeleteCompany(rc, id, req->etag()));
        });
    }

    Status CreateCustomFieldDefinition(ServerContext* sc, const v1::CreateCustomFieldDefinitionRequest* req,
                                       v1::CreateCustomFieldDefinitionResponse* resp) override {
        return rpc_.Handle(sc, "CreateCustomFieldDefinition", [&](const RequestContext& rc) {
            Checks checks;
            checks.RequestId(req->request_id());
            const domain::DefinitionCheck definition =
                domain::NormalizeCustomFieldDefinition(mapping::DefinitionFromProto(req->custom_field_definition()));
            checks.Append(definition.violations);
            checks.ThrowIfAny();
            *resp->mutable_custom_field_definition() =
                mapping::ToProto(repo_->CreateDefinition(rc, definition.definition, req->request_id()));
        });
    }

    Status ListCustomFieldDefinitions(ServerContext* sc, const v1::ListCustomFieldDefinitionsRequest* req,
                                      v1::ListCustomFieldDefinitionsResponse* resp) override {
        return rpc_.Handle(sc, "ListCustomFieldDefinitions", [&](const RequestContext& rc) {
            storage::DefinitionListQuery query;
            query.page_size = common::ResolvePageSize(req->page_size());
            query.page_token = req->page_token();
            query.entity = mapping::FromProto(req->entity());
            domain::Page<domain::CustomFieldDefinition> page = repo_->ListDefinitions(rc, query);
            for (const auto& definition : page.items) {
                *resp->add_custom_field_definitions() = mapping::ToProto(definition);
            }
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status DeleteCustomFieldDefinition(ServerContext* sc, const v1::DeleteCustomFieldDefinitionRequest* req,
                                       v1::DeleteCustomFieldDefinitionResponse*) override {
        return rpc_.Handle(sc, "DeleteCustomFieldDefinition", [&](const RequestContext& rc) {
            Checks checks;
            const std::string id = checks.Id(req->id(), "id");
            checks.ThrowIfAny();
            repo_->DeleteDefinition(rc, id);
        });
    }

  private:
    common::RpcRuntime& rpc_;
    ContactsMetrics metrics_;
    std::shared_ptr<storage::Repository> repo_;
    domain::NormalizeSettings settings_;
};

}  // namespace

std::shared_ptr<grpc::Service> MakeContactsService(common::RpcRuntime& rpc, common::Metrics& metrics,
                                                   std::shared_ptr<storage::Repository> repository,
                                                   domain::NormalizeSettings settings) {
    return std::make_shared<ContactsService>(rpc, metrics, std::move(repository), std::move(settings));
}

}  // namespace crm::contacts::api
