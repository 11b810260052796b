#pragma once
// custom_fields: the tenant's custom field definitions (create, list, delete) and the check of a record's custom field
// values against them, which people and companies run in their own transactions.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
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

// The rules of one tenant's contact definitions with the version they were read at (custom_field_versions, bumped by
// a trigger on every change of the tenant's definitions; 0 = the tenant never had any).
struct ContactRules {
    std::int64_t version = 0;
    std::vector<domain::CustomFieldDefinition> rules;
};

// Per-process cache of ContactRules by tenant, so that CreateContact needs no statement for the definitions: the
// create statement compares the cached version with the stored one and writes nothing when they differ (people area,
// contacts_create). Bounded: beyond kMaxTenants entries it starts over. Thread-safe.
class DefinitionCache {
  public:
    static constexpr std::size_t kMaxTenants = 10000;
    std::optional<ContactRules> Find(const std::string& tenant) const;
    void Put(const std::string& tenant, ContactRules rules);

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, ContactRules> by_tenant_;
};

// Reads the tenant's contact definitions and their version in one statement, stores them in `cache` and returns
// them.
ContactRules LoadContactRules(common::Db& db, pqxx::work& tx, const std::string& tenant, DefinitionCache& cache);

// Throws ApiError INVALID_ARGUMENT unless `values` match `rules` (as CheckValues does for contacts).
void CheckContactValues(const ContactRules& rules, const domain::CustomFields& values, const std::string& prefix);

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
