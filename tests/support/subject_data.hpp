#pragma once
// Data-subject requests in tests: a service's SubjectDataService called directly (identity signed as the gateway's
// worker signs it), and a scan of a service's database for a personal value (as the owner role: every table, every
// text, varchar, jsonb, array and bytea column), which shows what an erasure left behind.
#include <crm/privacy/v1/subject.grpc.pb.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness.hpp"

namespace crm::test {

namespace pv1 = crm::privacy::v1;

// The subject data API of one service: env_var names its address ("CRM_TEST_LEADS").
class SubjectDataClient {
  public:
    SubjectDataClient(const char* env_var, std::string tenant, std::vector<std::string> roles = {"privacy_officer"})
        : stub_(pv1::SubjectDataService::NewStub(DirectChannel(env_var))),
          tenant_(std::move(tenant)),
          roles_(std::move(roles)) {}

#define CRM_TEST_SUBJECT_RPC(Name)                                                                     \
    grpc::Status Name(const pv1::Name##Request& req, pv1::Name##Response* resp) {                      \
        grpc::ClientContext ctx;                                                                       \
        PrepareFor(ctx, RpcName<pv1::SubjectDataService>(#Name), "", SignedIdentity(tenant_, roles_)); \
        return stub_->Name(&ctx, req, resp);                                                           \
    }
    CRM_TEST_SUBJECT_RPC(ResolveSubject)
    CRM_TEST_SUBJECT_RPC(ExportSubject)
    CRM_TEST_SUBJECT_RPC(EraseSubject)
#undef CRM_TEST_SUBJECT_RPC

  private:
    std::unique_ptr<pv1::SubjectDataService::Stub> stub_;
    std::string tenant_;
    std::vector<std::string> roles_;
};

inline pv1::Subject MakeSubject(const std::vector<std::string>& contact_ids, const std::vector<std::string>& lead_ids,
                                const std::vector<std::string>& emails) {
    pv1::Subject s;
    for (const auto& id : contact_ids) s.add_contact_ids(id);
    for (const auto& id : lead_ids) s.add_lead_ids(id);
    for (const auto& e : emails) s.add_emails(e);
    return s;
}

// Erases `subject` under request id `id`, asking again while the service answers UNAVAILABLE (events about the
// person not yet relayed); REQUIREs success.
pv1::EraseSubjectResponse MustErase(SubjectDataClient& api, const pv1::Subject& subject, const std::string& id);

// The parsed JSON array of an export's records of one type, REQUIREd to be an array as long as its count; FAILs
// when the export has no such type.
nlohmann::json Records(const pv1::ExportSubjectResponse& r, const std::string& type);

// "table.column" of every row value in the service's database (all tenants) that contains `needle` (case-insensitive
// for text; bytes as UTF-8 for bytea), excluding the tables named in `except`.
std::vector<std::string> ColumnsContaining(const std::string& service, const std::string& needle,
                                           const std::vector<std::string>& except = {});
// The same for several values at once (one pass over each table): "table.column holds value (rows)" ("table.column
// (rows)" for one value); with a
// tenant, only that tenant's rows of the tables that have a tenant_id (the others whole).
std::vector<std::string> ColumnsContaining(const std::string& service, const std::vector<std::string>& needles,
                                           const std::vector<std::string>& except = {}, const std::string& tenant = "");

}  // namespace crm::test
