// The companies RPCs of ContactsService: CreateCompany, GetCompany, ListCompanies, UpdateCompany, DeleteCompany.
// Every field is checked before anything is read or written.
#include "companies/companies.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "domain/update_mask.hpp"
#include "grpc_service.hpp"
#include "rows.hpp"

namespace crm::contacts {

using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;

grpc::Status ContactsService::CreateCompany(ServerContext* sc, const v1::CreateCompanyRequest* req,
                                            v1::CreateCompanyResponse* resp) {
    return rpc_.Handle(sc, "CreateCompany", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        domain::CheckEtagSyntax(v, req->company().etag(), "company.etag");
        const domain::CompanyCheck company = domain::NormalizeCompany(companies::FieldsOf(req->company()));
        v.Append(company.violations);
        v.ThrowIfAny();
        *resp->mutable_company() = companies::CreateCompany(db_, outbox_, rc, company.company, req->request_id());
    });
}

grpc::Status ContactsService::GetCompany(ServerContext* sc, const v1::GetCompanyRequest* req,
                                         v1::GetCompanyResponse* resp) {
    return rpc_.Handle(sc, "GetCompany", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_company() = companies::GetCompany(db_, rc, id);
    });
}

grpc::Status ContactsService::ListCompanies(ServerContext* sc, const v1::ListCompaniesRequest* req,
                                            v1::ListCompaniesResponse* resp) {
    return rpc_.Handle(sc, "ListCompanies", [&](const RequestContext& rc) {
        common::Violations v;
        companies::CompanyListQuery query;
        query.page_size = common::ResolvePageSize(req->page_size());
        query.page_token = req->page_token();
        query.tag = domain::NormalizeTagFilter(v, req->tag(), "tag");
        query.owner_id = domain::NormalizeOwnerFilter(v, req->owner_id(), "owner_id");
        const google::protobuf::Timestamp& after = req->updated_after();
        if (req->has_updated_after() && common::CheckTime(v, after.seconds(), after.nanos(), "updated_after")) {
            query.updated_after = rows::Micros(after);
        }
        query.show_deleted = req->show_deleted();
        v.ThrowIfAny();
        common::Page<v1::Company> page = companies::ListCompanies(db_, rc, query);
        for (v1::Company& company : page.items) *resp->add_companies() = std::move(company);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status ContactsService::UpdateCompany(ServerContext* sc, const v1::UpdateCompanyRequest* req,
                                            v1::UpdateCompanyResponse* resp) {
    return rpc_.Handle(sc, "UpdateCompany", [&](const RequestContext& rc) {
        common::Violations v;
        companies::CompanyUpdate update;
        update.id = common::CheckId(v, req->company().id(), "company.id");
        update.mask_paths.assign(req->update_mask().paths().begin(), req->update_mask().paths().end());
        v.Append(domain::ValidateUpdateMask(domain::MaskedEntity::kCompany, update.mask_paths));
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, req->company().etag(), "company.etag");
        update.patch = companies::FieldsOf(req->company());
        domain::RefuseControlCharacters(v, update.patch, "company");
        v.ThrowIfAny();
        // The values the mask applies, each by its own rules, before the company is read (a missing name is only
        // known against the stored company, UpdateCompany checks that).
        const std::vector<std::string> paths = domain::EffectiveCompanyMask(update.mask_paths, update.patch);
        domain::NormalizeCompany(domain::ApplyCompanyMask({}, update.patch, paths), "company", false)
            .violations.ThrowIfAny();
        update.expected_etag = req->etag().empty() ? req->company().etag() : req->etag();
        *resp->mutable_company() = companies::UpdateCompany(db_, outbox_, rc, update);
    });
}

grpc::Status ContactsService::DeleteCompany(ServerContext* sc, const v1::DeleteCompanyRequest* req,
                                            v1::DeleteCompanyResponse* resp) {
    return rpc_.Handle(sc, "DeleteCompany", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_company() = companies::DeleteCompany(db_, outbox_, rc, id, req->etag());
    });
}

}  // namespace crm::contacts
