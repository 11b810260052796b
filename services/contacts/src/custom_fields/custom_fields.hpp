#pragma once
// custom_fields: the tenant's custom field definitions (create, list, delete) and the check of a record's custom field
// values against them, which people and companies run in their own transactions.
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/paging.hpp"
#include "crm/contacts/v1/contacts.pb.h"
#include "domain/custom_fields.hpp"

namespace crm::common {
class Outbox;
}

namespace crm::contacts::custom_fields {

namespace v1 = crm::contacts::v1;

// What a definition says about values, for the rules of domain/custom_fields.hpp (unknown enum values read as
// unspecified).
domain::CustomFieldDefinition RuleOf(const v1::CustomFieldDefinition& definition);

// Throws ApiError INVALID_ARGUMENT unless `values` match the tenant's definitions of `entity`
// (domain::ValidateCustomFields; violations named "<prefix>.custom_fields.<key>").
void CheckValues(common::Db& db, pqxx::work& tx, const std::string& tenant, domain::CustomFieldEntity entity,
                 const domain::CustomFields& values, const std::string& prefix, bool enforce_required);

// `definition` is normalized (label and allowed values as domain::NormalizeCustomFieldDefinition returns them).
// Idempotent by request_id. ALREADY_EXISTS (CUSTOM_FIELD_EXISTS) for a key the entity has; FAILED_PRECONDITION
// (CUSTOM_FIELD_LIMIT) beyond 100 definitions per entity.
v1::CustomFieldDefinition CreateDefinition(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                                           const v1::CustomFieldDefinition& definition, const std::string& request_id);

// `entity` UNSPECIFIED (or unknown) lists both entities.
common::Page<v1::CustomFieldDefinition> ListDefinitions(common::Db& db, const common::RequestContext& rc,
                                                        v1::CustomFieldEntity entity, int page_size,
                                                        const std::string& page_token);

// Deletes the definition and strips its key from every record of its entity, in one transaction.
void DeleteDefinition(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc, const std::string& id);

}  // namespace crm::contacts::custom_fields
