#pragma once
// companies: create, read, list, update, soft delete. Application code over crm.contacts.v1.Company: one function per
// use case, each in one tenant transaction with its event appended to the outbox in that transaction.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/paging.hpp"
#include "crm/contacts/v1/contacts.pb.h"
#include "domain/records.hpp"

namespace crm::common {
class Outbox;
}

namespace crm::contacts::companies {

namespace v1 = crm::contacts::v1;

// The company, deleted or not; nullopt when the tenant has none with this id.
std::optional<v1::Company> FindCompany(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                       const std::string& id);

// The client-writable fields of a company, for the rules of domain/.
domain::CompanyFields FieldsOf(const v1::Company& company);

// `company` is normalized (domain::NormalizeCompany). Idempotent by request_id. ALREADY_EXISTS (DUPLICATE_COMPANY)
// when an active company has the same domain, or without a domain the same name ignoring case.
v1::Company CreateCompany(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const domain::CompanyFields& company, const std::string& request_id);

v1::Company GetCompany(common::Db& db, const common::RequestContext& rc, const std::string& id);

struct CompanyListQuery {
    int page_size = common::kDefaultPageSize;
    std::string page_token;
    std::string tag;  // normalized; empty = any
    std::string owner_id;
    std::optional<std::int64_t> updated_after;  // microseconds since the epoch
    bool show_deleted = false;
};
common::Page<v1::Company> ListCompanies(common::Db& db, const common::RequestContext& rc,
                                        const CompanyListQuery& query);

// An update as the client asked for it: patch values as sent (their text already checked), mask paths validated.
struct CompanyUpdate {
    std::string id;
    domain::CompanyFields patch;
    std::vector<std::string> mask_paths;
    std::string expected_etag;  // "v<version>" or empty (no check)
};
v1::Company UpdateCompany(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const CompanyUpdate& update);

v1::Company DeleteCompany(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const std::string& id, const std::string& etag);

}  // namespace crm::contacts::companies
