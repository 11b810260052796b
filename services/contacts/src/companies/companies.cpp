#include "companies/companies.hpp"

#include <nlohmann/json.hpp>

#include "companies/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/contacts/events/v1/events.pb.h"
#include "custom_fields/custom_fields.hpp"
#include "domain/update_mask.hpp"

namespace crm::contacts::companies {
namespace {

namespace ev1 = crm::contacts::events::v1;
using common::ApiError;

constexpr char kAggregate[] = "company";

// A row of CRM_COMPANY_COLUMNS.
v1::Company ReadCompany(const pqxx::row& row) {
    v1::Company c;
    c.set_id(row[0].as<std::string>());
    c.set_name(row[1].as<std::string>());
    c.set_domain(row[2].as<std::string>());
    c.set_industry(row[3].as<std::string>());
    c.set_owner_id(row[4].as<std::string>());
    for (std::string& tag : rows::StringList(row[5])) c.add_tags(std::move(tag));
    for (const auto& [key, value] : rows::FieldMap(row[6])) (*c.mutable_custom_fields())[key] = value;
    *c.mutable_create_time() = rows::ToTimestamp(row[7].as<std::int64_t>());
    *c.mutable_update_time() = rows::ToTimestamp(row[8].as<std::int64_t>());
    if (auto time = rows::OptionalTime(row[9])) *c.mutable_delete_time() = *time;
    c.set_version(row[10].as<std::int64_t>());
    c.set_etag(common::MakeEtag(c.version()));
    return c;
}

v1::Company LoadCompany(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id) {
    std::optional<v1::Company> company = FindCompany(db, tx, tenant, id);
    if (!company) throw ApiError::NotFound("company", id);
    return std::move(*company);
}

void AppendEvent(common::Outbox& outbox, pqxx::work& tx, const common::RequestContext& rc, const v1::Company& company,
                 const google::protobuf::Message& payload) {
    outbox.Append(tx, rc, common::NewEvent{kAggregate, company.id(), company.version(), payload});
}

// ALREADY_EXISTS DUPLICATE_COMPANY (ErrorInfo metadata existing_id, match) when another active company of the
// tenant has the same normalized domain or, for a company without a domain, the same name ignoring case. Concurrent
// writers of one domain (or name) queue on an advisory lock, so the check cannot race.
ApiError DuplicateCompany(const domain::CompanyFields& f, const std::string& existing_id) {
    const bool by_domain = !f.domain.empty();
    return ApiError::AlreadyExists(std::string("an active company with this ") + (by_domain ? "domain" : "name") +
                                       " exists: " + existing_id,
                                   "DUPLICATE_COMPANY")
        .With("existing_id", existing_id)
        .With("match", by_domain ? "domain" : "name");
}

void RefuseDuplicateCompany(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::CompanyFields& f,
                            const std::string& self_id) {
    const bool by_domain = !f.domain.empty();
    db.Exec(tx, sql::kLockCompanyKey, tenant, by_domain ? "domain:" + f.domain : "name:" + f.name);
    const pqxx::result rows = by_domain ? db.Exec(tx, sql::kActiveCompanyByDomain, tenant, f.domain)
                                        : db.Exec(tx, sql::kActiveCompanyByName, tenant, f.name);
    for (const auto& row : rows) {  // at most two rows: the company being updated may be one of them
        const std::string id = row[0].as<std::string>();
        if (id == self_id) continue;
        throw DuplicateCompany(f, id);
    }
}

}  // namespace

std::optional<v1::Company> FindCompany(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                       const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetCompany, tenant, id);
    if (rows.empty()) return std::nullopt;
    return ReadCompany(rows[0]);
}

domain::CompanyFields FieldsOf(const v1::Company& company) {
    domain::CompanyFields out;
    out.name = company.name();
    out.domain = company.domain();
    out.industry = company.industry();
    out.owner_id = company.owner_id();
    out.tags.assign(company.tags().begin(), company.tags().end());
    out.custom_fields.insert(company.custom_fields().begin(), company.custom_fields().end());
    return out;
}

v1::Company CreateCompany(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const domain::CompanyFields& f, const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, tenant, "CreateCompany", request_id, id)) {
            return LoadCompany(db, tx, tenant, *first);
        }
        custom_fields::CheckValues(db, tx, tenant, domain::CustomFieldEntity::kCompany, f.custom_fields, "company",
                                   true);
        // Lock of the domain (or name), duplicate look-up and insert in one statement (companies_create).
        std::optional<v1::Company> created;
        for (const auto& row : db.Exec(tx, sql::kCreateCompany, tenant, id, f.name, f.domain, f.industry, f.owner_id,
                                       rows::JsonArray(f.tags), rows::JsonObject(f.custom_fields))) {
            v1::Company company = ReadCompany(row.slice(1, row.size()));
            if (row[0].as<std::string>() == "existing") throw DuplicateCompany(f, company.id());
            created = std::move(company);
        }
        if (!created) throw std::logic_error("companies_create returned no company");
        ev1::CompanyCreated event;
        *event.mutable_company() = *created;
        AppendEvent(outbox, tx, rc, *created, event);
        return std::move(*created);
    });
}

v1::Company GetCompany(common::Db& db, const common::RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return LoadCompany(db, tx, rc.tenant_id, id); });
}

common::Page<v1::Company> ListCompanies(common::Db& db, const common::RequestContext& rc, const CompanyListQuery& q) {
    const std::string after = q.updated_after ? std::to_string(*q.updated_after) : "";
    const std::string scope = nlohmann::json::array({"ListCompanies", q.tag, q.owner_id, after, q.show_deleted}).dump();
    const common::TimeIdKey cursor =
        common::DecodeTimeIdToken(q.page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    const int fetch = q.page_size + 1;
    std::vector<v1::Company> companies = db.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = q.updated_after
                                      ? db.Exec(tx, sql::kListCompaniesUpdated, rc.tenant_id, cursor.micros, cursor.id,
                                                q.show_deleted, q.owner_id, q.tag, fetch, *q.updated_after)
                                      : db.Exec(tx, sql::kListCompanies, rc.tenant_id, cursor.micros, cursor.id,
                                                q.show_deleted, q.owner_id, q.tag, fetch);
        std::vector<v1::Company> out;
        out.reserve(rows.size());
        for (const auto& row : rows) out.push_back(ReadCompany(row));
        return out;
    });
    const bool by_update = q.updated_after.has_value();
    return common::MakePage(std::move(companies), q.page_size, [&](const v1::Company& c) {
        const google::protobuf::Timestamp& time = by_update ? c.update_time() : c.create_time();
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {.micros = rows::Micros(time), .id = c.id()});
    });
}

v1::Company UpdateCompany(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const CompanyUpdate& update) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const v1::Company current = LoadCompany(db, tx, tenant, update.id);
        common::CheckEtag(update.expected_etag, current.version());
        if (current.has_delete_time()) {
            throw ApiError::FailedPrecondition("a deleted company cannot be updated", "COMPANY_DELETED");
        }
        const domain::CompanyFields before = FieldsOf(current);
        const std::vector<std::string> paths = domain::EffectiveCompanyMask(update.mask_paths, update.patch);
        const domain::CompanyCheck check =
            domain::NormalizeCompany(domain::ApplyCompanyMask(before, update.patch, paths));
        check.violations.ThrowIfAny();
        const domain::CompanyFields& f = check.company;
        if (domain::MaskTouchesCustomFields(paths)) {
            custom_fields::CheckValues(db, tx, tenant, domain::CustomFieldEntity::kCompany, f.custom_fields, "company",
                                       true);
        }
        const std::vector<std::string> changed = domain::ChangedCompanyPaths(before, f);
        if (changed.empty()) return current;
        // A new domain, or a new name of a company without one, must not make it a twin of another company.
        if (f.domain != before.domain || (f.domain.empty() && f.name != before.name)) {
            RefuseDuplicateCompany(db, tx, tenant, f, current.id());
        }
        v1::Company updated = ReadCompany(rows::RequireWritten(
            db.Exec(tx, sql::kWriteCompany, tenant, current.id(), f.name, f.domain, f.industry, f.owner_id,
                    rows::JsonArray(f.tags), rows::JsonObject(f.custom_fields), current.version()),
            "company"));
        ev1::CompanyUpdated event;
        *event.mutable_company() = updated;
        for (const std::string& path : changed) event.add_changed_paths(path);
        AppendEvent(outbox, tx, rc, updated, event);
        return updated;
    });
}

v1::Company DeleteCompany(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const std::string& id, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Company current = LoadCompany(db, tx, rc.tenant_id, id);
        common::CheckEtag(etag, current.version());
        if (current.has_delete_time()) return current;
        v1::Company deleted = ReadCompany(
            rows::RequireWritten(db.Exec(tx, sql::kSoftDeleteCompany, rc.tenant_id, id, current.version()), "company"));
        ev1::CompanyDeleted event;
        *event.mutable_company() = deleted;
        AppendEvent(outbox, tx, rc, deleted, event);
        return deleted;
    });
}

}  // namespace crm::contacts::companies
