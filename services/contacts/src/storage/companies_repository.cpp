// Repository: companies and custom field definitions.
#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/contacts/events/v1/events.pb.h"
#include "domain/update_mask.hpp"
#include "mapping/proto_mapping.hpp"
#include "storage/repository.hpp"
#include "storage/rows.hpp"
#include "storage/sql.hpp"
#include "support/violations.hpp"

namespace crm::contacts::storage {
namespace {

namespace ev1 = crm::contacts::events::v1;
using common::ApiError;

constexpr char kCompanyAggregate[] = "company";
constexpr char kDefinitionAggregate[] = "custom_field_definition";

domain::Company LoadCompany(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetCompany, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("company", id);
    return ReadCompany(rows[0]);
}

domain::CustomFieldDefinition LoadDefinition(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                             const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetDefinition, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("custom field definition", id);
    return ReadDefinition(rows[0]);
}

void AppendEvent(common::Outbox& outbox, pqxx::work& tx, const common::RequestContext& rc,
                 const domain::Company& company, const google::protobuf::Message& payload) {
    outbox.Append(tx, rc, common::NewEvent{kCompanyAggregate, company.id, company.version, payload});
}

// ALREADY_EXISTS DUPLICATE_COMPANY (ErrorInfo metadata existing_id, match) when another active company of the
// tenant has the same normalized domain or, for a company without a domain, the same name ignoring case. Concurrent
// writers of one domain (or name) queue on an advisory lock, so the check cannot race.
void RefuseDuplicateCompany(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::CompanyFields& f,
                            const std::string& self_id) {
    const bool by_domain = !f.domain.empty();
    db.Exec(tx, sql::kLockCompanyKey, tenant, by_domain ? "domain:" + f.domain : "name:" + f.name);
    const pqxx::result rows = by_domain ? db.Exec(tx, sql::kActiveCompanyByDomain, tenant, f.domain)
                                        : db.Exec(tx, sql::kActiveCompanyByName, tenant, f.name);
    for (const auto& row : rows) {  // at most two rows: the company being updated may be one of them
        const std::string id = row[0].as<std::string>();
        if (id == self_id) continue;
        throw ApiError::AlreadyExists(
            std::string("an active company with this ") + (by_domain ? "domain" : "name") + " exists: " + id,
            "DUPLICATE_COMPANY")
            .With("existing_id", id)
            .With("match", by_domain ? "domain" : "name");
    }
}

}  // namespace

domain::Company Repository::CreateCompany(const common::RequestContext& rc, const domain::CompanyFields& f,
                                          const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, tenant, "CreateCompany", request_id, id)) {
            return LoadCompany(db_, tx, tenant, *first);
        }
        CheckCustomFields(db_, tx, tenant, domain::CustomFieldEntity::kCompany, f.custom_fields, "company", true);
        RefuseDuplicateCompany(db_, tx, tenant, f, "");
        domain::Company created =
            ReadCompany(db_.Exec(tx, sql::kInsertCompany, tenant, id, f.name, f.domain, f.industry, f.owner_id,
                                 JsonArray(f.tags), JsonObject(f.custom_fields))[0]);
        ev1::CompanyCreated event;
        *event.mutable_company() = mapping::ToProto(created);
        AppendEvent(outbox_, tx, rc, created, event);
        return created;
    });
}

domain::Company Repository::GetCompany(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadCompany(db_, tx, rc.tenant_id, id); });
}

domain::Page<domain::Company> Repository::ListCompanies(const common::RequestContext& rc, const CompanyListQuery& q) {
    const std::string after = q.updated_after ? std::to_string(Micros(*q.updated_after)) : "";
    const std::string scope = nlohmann::json::array({"ListCompanies", q.tag, q.owner_id, after, q.show_deleted}).dump();
    const Cursor cursor = DecodeCursor(rc.tenant_id, q.page_token, scope);
    const int fetch = q.page_size + 1;
    std::vector<domain::Company> companies = db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = q.updated_after
                                      ? db_.Exec(tx, sql::kListCompaniesUpdated, rc.tenant_id, cursor.micros, cursor.id,
                                                 q.show_deleted, q.owner_id, q.tag, fetch, Micros(*q.updated_after))
                                      : db_.Exec(tx, sql::kListCompanies, rc.tenant_id, cursor.micros, cursor.id,
                                                 q.show_deleted, q.owner_id, q.tag, fetch);
        std::vector<domain::Company> out;
        for (const auto& row : rows) out.push_back(ReadCompany(row));
        return out;
    });
    const bool by_update = q.updated_after.has_value();
    return MakePage(std::move(companies), q.page_size, rc.tenant_id, scope, [by_update](const domain::Company& c) {
        return Cursor{.micros = Micros(by_update ? c.update_time : c.create_time), .id = c.id};
    });
}

domain::Company Repository::UpdateCompany(const common::RequestContext& rc,
                                          const Update<domain::CompanyFields>& update) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const domain::Company current = LoadCompany(db_, tx, tenant, update.id);
        CheckEtag(update.expected_etag, current.version);
        if (current.delete_time) {
            throw ApiError::FailedPrecondition("a deleted company cannot be updated", "COMPANY_DELETED");
        }
        const std::vector<std::string> paths = domain::EffectiveCompanyMask(update.mask_paths, update.patch);
        const domain::CompanyCheck check =
            domain::NormalizeCompany(domain::ApplyCompanyMask(current.fields, update.patch, paths));
        ThrowIfInvalid(check.violations);
        const domain::CompanyFields& f = check.company;
        if (domain::MaskTouchesCustomFields(paths)) {
            CheckCustomFields(db_, tx, tenant, domain::CustomFieldEntity::kCompany, f.custom_fields, "company", true);
        }
        const std::vector<std::string> changed = domain::ChangedCompanyPaths(current.fields, f);
        if (changed.empty()) return current;
        // A new domain, or a new name of a company without one, must not make it a twin of another company.
        if (f.domain != current.fields.domain || (f.domain.empty() && f.name != current.fields.name)) {
            RefuseDuplicateCompany(db_, tx, tenant, f, current.id);
        }
        domain::Company updated = ReadCompany(
            RequireWritten(db_.Exec(tx, sql::kWriteCompany, tenant, current.id, f.name, f.domain, f.industry,
                                    f.owner_id, JsonArray(f.tags), JsonObject(f.custom_fields), current.version),
                           "company"));
        ev1::CompanyUpdated event;
        *event.mutable_company() = mapping::ToProto(updated);
        for (const std::string& path : changed) event.add_changed_paths(path);
        AppendEvent(outbox_, tx, rc, updated, event);
        return updated;
    });
}

domain::Company Repository::DeleteCompany(const common::RequestContext& rc, const std::string& id,
                                          const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const domain::Company current = LoadCompany(db_, tx, rc.tenant_id, id);
        CheckEtag(etag, current.version);
        if (current.delete_time) return current;
        domain::Company deleted = ReadCompany(
            RequireWritten(db_.Exec(tx, sql::kSoftDeleteCompany, rc.tenant_id, id, current.version), "company"));
        ev1::CompanyDeleted event;
        *event.mutable_company() = mapping::ToProto(deleted);
        AppendEvent(outbox_, tx, rc, deleted, event);
        return deleted;
    });
}

domain::CustomFieldDefinition Repository::CreateDefinition(const common::RequestContext& rc,
                                                           const domain::CustomFieldDefinition& d,
                                                           const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, tenant, "CreateCustomFieldDefinition", request_id, id)) {
            return LoadDefinition(db_, tx, tenant, *first);
        }
        const std::string entity = EntityText(d.entity);
        // One definition at a time per entity, so that the count below holds until commit.
        db_.Exec(tx, sql::kLockKey, "contacts.definitions:" + tenant + ":" + entity);
        const auto count = db_.Exec(tx, sql::kCountDefinitions, tenant, entity)[0][0].as<std::int64_t>();
        if (count >= static_cast<std::int64_t>(domain::limits::kMaxCustomFieldDefinitionsPerEntity)) {
            throw ApiError::FailedPrecondition("at most 100 custom fields can be defined per entity",
                                               "CUSTOM_FIELD_LIMIT");
        }
        const pqxx::result rows = db_.Exec(tx, sql::kInsertDefinition, tenant, id, entity, d.key, d.label,
                                           TypeText(d.type), d.required, JsonArray(d.allowed_values));
        if (rows.empty()) {
            throw ApiError::AlreadyExists("a custom field with key \"" + d.key + "\" already exists for this entity",
                                          "CUSTOM_FIELD_EXISTS");
        }
        domain::CustomFieldDefinition created = ReadDefinition(rows[0]);
        ev1::CustomFieldDefinitionCreated event;
        *event.mutable_custom_field_definition() = mapping::ToProto(created);
        outbox_.Append(tx, rc, common::NewEvent{kDefinitionAggregate, created.id, 1, event});
        return created;
    });
}

domain::Page<domain::CustomFieldDefinition> Repository::ListDefinitions(const common::RequestContext& rc,
                                                                        const DefinitionListQuery& q) {
    const std::string entity = EntityText(q.entity);
    const std::string scope = nlohmann::json::array({"ListCustomFieldDefinitions", entity}).dump();
    const Cursor cursor = DecodeCursor(rc.tenant_id, q.page_token, scope);
    std::vector<domain::CustomFieldDefinition> definitions = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<domain::CustomFieldDefinition> out;
        for (const auto& row :
             db_.Exec(tx, sql::kListDefinitions, rc.tenant_id, cursor.micros, cursor.id, entity, q.page_size + 1)) {
            out.push_back(ReadDefinition(row));
        }
        return out;
    });
    return MakePage(
        std::move(definitions), q.page_size, rc.tenant_id, scope,
        [](const domain::CustomFieldDefinition& d) { return Cursor{.micros = Micros(d.create_time), .id = d.id}; });
}

void Repository::DeleteDefinition(const common::RequestContext& rc, const std::string& id) {
    db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const domain::CustomFieldDefinition definition = LoadDefinition(db_, tx, tenant, id);
        db_.Exec(tx, sql::kDeleteDefinition, tenant, id);
        const common::Sql& strip = definition.entity == domain::CustomFieldEntity::kCompany ? sql::kStripCompanyField
                                                                                            : sql::kStripContactField;
        const pqxx::result stripped = db_.Exec(tx, strip, tenant, definition.key);
        ev1::CustomFieldDefinitionDeleted event;
        *event.mutable_custom_field_definition() = mapping::ToProto(definition);
        event.set_affected_records(stripped.affected_rows());
        // Definitions are not versioned: 1 is the create, 2 the deletion.
        outbox_.Append(tx, rc, common::NewEvent{kDefinitionAggregate, definition.id, 2, event});
    });
}

}  // namespace crm::contacts::storage
