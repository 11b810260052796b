#pragma once
// A thin typed client for crm.contacts.v1 used by the integration tests and the benchmark.
#include <crm/contacts/v1/contacts.grpc.pb.h>

#include <memory>
#include <string>

#include "harness.hpp"

namespace crm::test {

namespace cv1 = crm::contacts::v1;

template <class Resp>
struct Result {
    grpc::Status status;
    Resp response;
    bool ok() const { return status.ok(); }
};

class ContactsClient {
  public:
    // Through the gateway with a token for the tenant (admin role unless given).
    explicit ContactsClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(cv1::ContactsService::NewStub(channel)) {}

    const std::string& token() const { return token_; }
    cv1::ContactsService::Stub& stub() { return *stub_; }

#define CRM_TEST_RPC(Name)                                                                   \
    Result<cv1::Name##Response> Name(const cv1::Name##Request& req,                          \
                                     const std::map<std::string, std::string>& extra = {}) { \
        Result<cv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                             \
        PrepareFor(ctx, RpcName<cv1::ContactsService>(#Name), token_, extra);                \
        r.status = stub_->Name(&ctx, req, &r.response);                                      \
        return r;                                                                            \
    }
    CRM_TEST_RPC(CreateContact)
    CRM_TEST_RPC(GetContact)
    CRM_TEST_RPC(ListContacts)
    CRM_TEST_RPC(UpdateContact)
    CRM_TEST_RPC(DeleteContact)
    CRM_TEST_RPC(SearchContacts)
    CRM_TEST_RPC(FindDuplicates)
    CRM_TEST_RPC(MergeContacts)
    CRM_TEST_RPC(ExportContactData)
    CRM_TEST_RPC(EraseContact)
    CRM_TEST_RPC(UpdateContactConsent)
    CRM_TEST_RPC(CreateCompany)
    CRM_TEST_RPC(GetCompany)
    CRM_TEST_RPC(ListCompanies)
    CRM_TEST_RPC(UpdateCompany)
    CRM_TEST_RPC(DeleteCompany)
    CRM_TEST_RPC(CreateCustomFieldDefinition)
    CRM_TEST_RPC(ListCustomFieldDefinitions)
    CRM_TEST_RPC(DeleteCustomFieldDefinition)
#undef CRM_TEST_RPC

    // Convenience: creates a person and REQUIREs success.
    cv1::Contact MustCreate(const std::string& given, const std::string& family, const std::string& email = "",
                            const std::string& phone = "", const std::string& request_id = "");

  private:
    std::string token_;
    std::unique_ptr<cv1::ContactsService::Stub> stub_;
};

}  // namespace crm::test
