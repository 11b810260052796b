#pragma once
// The class implementing crm.contacts.v1.ContactsService. One class, one definition file per area: each area's
// handlers.cpp defines its RPC members (request checks with the kit's validators, all fields before any lookup; a call
// into the area's application code; the response). Includes the generated gRPC header: only for the handler files,
// grpc_service.cpp and register.cpp.
#include <crm/contacts/v1/contacts.grpc.pb.h>

#include <memory>

#include "domain/records.hpp"

namespace crm::common {
class Db;
class Metrics;
class Outbox;
class RpcRuntime;
}  // namespace crm::common

namespace crm::contacts {

namespace v1 = crm::contacts::v1;

struct ContactsMetrics;
namespace custom_fields {
class DefinitionCache;
}

class ContactsService final : public v1::ContactsService::Service {
  public:
    ContactsService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db, common::Outbox& outbox,
                    domain::NormalizeSettings settings);
    ~ContactsService() override;

    // people/handlers.cpp
    grpc::Status CreateContact(grpc::ServerContext* sc, const v1::CreateContactRequest* req,
                               v1::CreateContactResponse* resp) override;
    grpc::Status GetContact(grpc::ServerContext* sc, const v1::GetContactRequest* req,
                            v1::GetContactResponse* resp) override;
    grpc::Status ListContacts(grpc::ServerContext* sc, const v1::ListContactsRequest* req,
                              v1::ListContactsResponse* resp) override;
    grpc::Status UpdateContact(grpc::ServerContext* sc, const v1::UpdateContactRequest* req,
                               v1::UpdateContactResponse* resp) override;
    grpc::Status DeleteContact(grpc::ServerContext* sc, const v1::DeleteContactRequest* req,
                               v1::DeleteContactResponse* resp) override;
    grpc::Status SearchContacts(grpc::ServerContext* sc, const v1::SearchContactsRequest* req,
                                v1::SearchContactsResponse* resp) override;

    // duplicates/handlers.cpp
    grpc::Status FindDuplicates(grpc::ServerContext* sc, const v1::FindDuplicatesRequest* req,
                                v1::FindDuplicatesResponse* resp) override;
    grpc::Status MergeContacts(grpc::ServerContext* sc, const v1::MergeContactsRequest* req,
                               v1::MergeContactsResponse* resp) override;

    // privacy/handlers.cpp
    grpc::Status ExportContactData(grpc::ServerContext* sc, const v1::ExportContactDataRequest* req,
                                   v1::ExportContactDataResponse* resp) override;
    grpc::Status EraseContact(grpc::ServerContext* sc, const v1::EraseContactRequest* req,
                              v1::EraseContactResponse* resp) override;
    grpc::Status UpdateContactConsent(grpc::ServerContext* sc, const v1::UpdateContactConsentRequest* req,
                                      v1::UpdateContactConsentResponse* resp) override;

    // companies/handlers.cpp
    grpc::Status CreateCompany(grpc::ServerContext* sc, const v1::CreateCompanyRequest* req,
                               v1::CreateCompanyResponse* resp) override;
    grpc::Status GetCompany(grpc::ServerContext* sc, const v1::GetCompanyRequest* req,
                            v1::GetCompanyResponse* resp) override;
    grpc::Status ListCompanies(grpc::ServerContext* sc, const v1::ListCompaniesRequest* req,
                               v1::ListCompaniesResponse* resp) override;
    grpc::Status UpdateCompany(grpc::ServerContext* sc, const v1::UpdateCompanyRequest* req,
                               v1::UpdateCompanyResponse* resp) override;
    grpc::Status DeleteCompany(grpc::ServerContext* sc, const v1::DeleteCompanyRequest* req,
                               v1::DeleteCompanyResponse* resp) override;

    // custom_fields/handlers.cpp
    grpc::Status CreateCustomFieldDefinition(grpc::ServerContext* sc, const v1::CreateCustomFieldDefinitionRequest* req,
                                             v1::CreateCustomFieldDefinitionResponse* resp) override;
    grpc::Status ListCustomFieldDefinitions(grpc::ServerContext* sc, const v1::ListCustomFieldDefinitionsRequest* req,
                                            v1::ListCustomFieldDefinitionsResponse* resp) override;
    grpc::Status DeleteCustomFieldDefinition(grpc::ServerContext* sc, const v1::DeleteCustomFieldDefinitionRequest* req,
                                             v1::DeleteCustomFieldDefinitionResponse* resp) override;

  private:
    common::RpcRuntime& rpc_;
    common::Db& db_;
    common::Outbox& outbox_;
    domain::NormalizeSettings settings_;
    std::unique_ptr<ContactsMetrics> metrics_;
    std::unique_ptr<custom_fields::DefinitionCache> definitions_;  // CreateContact's custom field rules by tenant
};

}  // namespace crm::contacts
