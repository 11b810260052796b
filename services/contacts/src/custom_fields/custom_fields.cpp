#include "custom_fields/custom_fields.hpp"

#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/outbox.hpp"
#include "crm/contacts/events/v1/events.pb.h"
#include "custom_fields/sql.hpp"

namespace crm::contacts::custom_fields {
namespace {

namespace ev1 = crm::contacts::events::v1;
using common::ApiError;

constexpr char kAggregate[] = "custom_field_definition";

// Entity and type as the schema spells them ('CONTACT', 'SINGLE_SELECT', ...); "" for an unspecified value.
std::string EntityText(v1::CustomFieldEntity entity) {
    switch (entity) {
        case v1::CUSTOM_FIELD_ENTITY_CONTACT:
            return "CONTACT";
        case v1::CUSTOM_FIELD_ENTITY_COMPANY:
            return "COMPANY";
        default:
            return "";
    }
}

std::string EntityText(domain::CustomFieldEntity entity) {
    switch (entity) {
        case domain::CustomFieldEntity::kContact:
            return "CONTACT";
        case domain::CustomFieldEntity::kCompany:
            return "COMPANY";
        case domain::CustomFieldEntity::kUnspecified:
            break;
    }
    return "";
}

v1::CustomFieldEntity EntityFromText(std::string_view text) {
    if (text == "CONTACT") return v1::CUSTOM_FIELD_ENTITY_CONTACT;
    if (text == "COMPANY") return v1::CUSTOM_FIELD_ENTITY_COMPANY;
    return v1::CUSTOM_FIELD_ENTITY_UNSPECIFIED;
}

std::string TypeText(v1::CustomFieldType type) {
    switch (type) {
        case v1::CUSTOM_FIELD_TYPE_TEXT:
            return "TEXT";
        case v1::CUSTOM_FIELD_TYPE_NUMBER:
            return "NUMBER";
        case v1::CUSTOM_FIELD_TYPE_BOOLEAN:
            return "BOOLEAN";
        case v1::CUSTOM_FIELD_TYPE_DATE:
            return "DATE";
        case v1::CUSTOM_FIELD_TYPE_SINGLE_SELECT:
            return "SINGLE_SELECT";
        default:
            return "";
    }
}

v1::CustomFieldType TypeFromText(std::string_view text) {
    if (text == "TEXT") return v1::CUSTOM_FIELD_TYPE_TEXT;
    if (text == "NUMBER") return v1::CUSTOM_FIELD_TYPE_NUMBER;
    if (text == "BOOLEAN") return v1::CUSTOM_FIELD_TYPE_BOOLEAN;
    if (text == "DATE") return v1::CUSTOM_FIELD_TYPE_DATE;
    if (text == "SINGLE_SELECT") return v1::CUSTOM_FIELD_TYPE_SINGLE_SELECT;
    return v1::CUSTOM_FIELD_TYPE_UNSPECIFIED;
}

// A row of CRM_DEFINITION_COLUMNS.
v1::CustomFieldDefinition ReadDefinition(const pqxx::row& row) {
    v1::CustomFieldDefinition d;
    d.set_id(row[0].as<std::string>());
    d.set_entity(EntityFromText(row[1].as<std::string>()));
    d.set_key(row[2].as<std::string>());
    d.set_label(row[3].as<std::string>());
    d.set_type(TypeFromText(row[4].as<std::string>()));
    d.set_required(row[5].as<bool>());
    for (std::string& value : rows::StringList(row[6])) d.add_allowed_values(std::move(value));
    *d.mutable_create_time() = rows::ToTimestamp(row[7].as<std::int64_t>());
    return d;
}

v1::CustomFieldDefinition LoadDefinition(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                         const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetDefinition, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("custom field definition", id);
    return ReadDefinition(rows[0]);
}

}  // namespace

domain::CustomFieldDefinition RuleOf(const v1::CustomFieldDefinition& definition) {
    domain::CustomFieldDefinition rule;
    switch (definition.entity()) {
        case v1::CUSTOM_FIELD_ENTITY_CONTACT:
            rule.entity = domain::CustomFieldEntity::kContact;
            break;
        case v1::CUSTOM_FIELD_ENTITY_COMPANY:
            rule.entity = domain::CustomFieldEntity::kCompany;
            break;
        default:
            break;
    }
    switch (definition.type()) {
        case v1::CUSTOM_FIELD_TYPE_TEXT:
            rule.type = domain::CustomFieldType::kText;
            break;
        case v1::CUSTOM_FIELD_TYPE_NUMBER:
            rule.type = domain::CustomFieldType::kNumber;
            break;
        case v1::CUSTOM_FIELD_TYPE_BOOLEAN:
            rule.type = domain::CustomFieldType::kBoolean;
            break;
        case v1::CUSTOM_FIELD_TYPE_DATE:
            rule.type = domain::CustomFieldType::kDate;
            break;
        case v1::CUSTOM_FIELD_TYPE_SINGLE_SELECT:
            rule.type = domain::CustomFieldType::kSingleSelect;
            break;
        default:
            break;
    }
    rule.key = definition.key();
    rule.label = definition.label();
    rule.required = definition.required();
    rule.allowed_values.assign(definition.allowed_values().begin(), definition.allowed_values().end());
    return rule;
}

void CheckValues(common::Db& db, pqxx::work& tx, const std::string& tenant, domain::CustomFieldEntity entity,
                 const domain::CustomFields& values, const std::string& prefix, bool enforce_required) {
    std::vector<domain::CustomFieldDefinition> rules;
    for (const auto& row : db.Exec(tx, sql::kDefinitionsOf, tenant, EntityText(entity))) {
        rules.push_back(RuleOf(ReadDefinition(row)));
    }
    domain::ValidateCustomFields(values, rules, prefix, enforce_required).ThrowIfAny();
}

std::optional<ContactRules> DefinitionCache::Find(const std::string& tenant) const {
    std::lock_guard lock(mutex_);
    const auto it = by_tenant_.find(tenant);
    if (it == by_tenant_.end()) return std::nullopt;
    return it->second;
}

void DefinitionCache::Put(const std::string& tenant, ContactRules rules) {
    std::lock_guard lock(mutex_);
    if (by_tenant_.size() >= kMaxTenants && !by_tenant_.contains(tenant)) by_tenant_.clear();
    by_tenant_[tenant] = std::move(rules);
}

ContactRules LoadContactRules(common::Db& db, pqxx::work& tx, const std::string& tenant, DefinitionCache& cache) {
    ContactRules loaded;
    for (const auto& row :
         db.Exec(tx, sql::kContactRulesWithVersion, tenant, EntityText(domain::CustomFieldEntity::kContact))) {
        loaded.version = row[0].as<std::int64_t>();
        if (row[1].is_null()) continue;  // no definitions
        // Columns 1.. are CRM_DEFINITION_COLUMNS; ReadDefinition reads them from column 0 of a row that starts there.
        loaded.rules.push_back(RuleOf(ReadDefinition(row.slice(1, row.size()))));
    }
    cache.Put(tenant, loaded);
    return loaded;
}

void CheckContactValues(const ContactRules& rules, const domain::CustomFields& values, const std::string& prefix) {
    domain::ValidateCustomFields(values, rules.rules, prefix, true).ThrowIfAny();
}

v1::CustomFieldDefinition CreateDefinition(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                                           const v1::CustomFieldDefinition& d, const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, tenant, "CreateCustomFieldDefinition", request_id, id)) {
            return LoadDefinition(db, tx, tenant, *first);
        }
        const std::string entity = EntityText(d.entity());
        // One definition at a time per entity, so that the count below holds until commit.
        db.Exec(tx, sql::kLockEntity, "contacts.definitions:" + tenant + ":" + entity);
        const auto count = db.Exec(tx, sql::kCountDefinitions, tenant, entity)[0][0].as<std::int64_t>();
        if (count >= static_cast<std::int64_t>(domain::limits::kMaxCustomFieldDefinitionsPerEntity)) {
            throw ApiError::FailedPrecondition("at most 100 custom fields can be defined per entity",
                                               "CUSTOM_FIELD_LIMIT");
        }
        const std::vector<std::string> allowed(d.allowed_values().begin(), d.allowed_values().end());
        const pqxx::result rows = db.Exec(tx, sql::kInsertDefinition, tenant, id, entity, d.key(), d.label(),
                                          TypeText(d.type()), d.required(), rows::JsonArray(allowed));
        if (rows.empty()) {
            throw ApiError::AlreadyExists("a custom field with key \"" + d.key() + "\" already exists for this entity",
                                          "CUSTOM_FIELD_EXISTS");
        }
        v1::CustomFieldDefinition created = ReadDefinition(rows[0]);
        ev1::CustomFieldDefinitionCreated event;
        *event.mutable_custom_field_definition() = created;
        outbox.Append(tx, rc, common::NewEvent{kAggregate, created.id(), 1, event});
        return created;
    });
}

common::Page<v1::CustomFieldDefinition> ListDefinitions(common::Db& db, const common::RequestContext& rc,
                                                        v1::CustomFieldEntity entity_filter, int page_size,
                                                        const std::string& page_token) {
    const std::string entity = EntityText(entity_filter);
    const std::string scope = nlohmann::json::array({"ListCustomFieldDefinitions", entity}).dump();
    const common::TimeIdKey cursor =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    std::vector<v1::CustomFieldDefinition> definitions = db.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::CustomFieldDefinition> out;
        for (const auto& row :
             db.Exec(tx, sql::kListDefinitions, rc.tenant_id, cursor.micros, cursor.id, entity, page_size + 1)) {
            out.push_back(ReadDefinition(row));
        }
        return out;
    });
    return common::MakePage(std::move(definitions), page_size, [&](const v1::CustomFieldDefinition& d) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {.micros = rows::Micros(d.create_time()), .id = d.id()});
    });
}

void DeleteDefinition(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc, const std::string& id) {
    db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const v1::CustomFieldDefinition definition = LoadDefinition(db, tx, tenant, id);
        db.Exec(tx, sql::kDeleteDefinition, tenant, id);
        const common::Sql& strip =
            definition.entity() == v1::CUSTOM_FIELD_ENTITY_COMPANY ? sql::kStripCompanyField : sql::kStripContactField;
        const pqxx::result stripped = db.Exec(tx, strip, tenant, definition.key());
        ev1::CustomFieldDefinitionDeleted event;
        *event.mutable_custom_field_definition() = definition;
        event.set_affected_records(stripped.affected_rows());
        // Definitions are not versioned: 1 is the create, 2 the deletion.
        outbox.Append(tx, rc, common::NewEvent{kAggregate, definition.id(), 2, event});
    });
}

}  // namespace crm::contacts::custom_fields
