#pragma once
// Internal helpers of the repository: row mapping, parameter encoding, keyset cursors, idempotency claims and the
// custom-field check against the stored definitions. Includes pqxx: only for storage/*.cpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/db.hpp"
#include "domain/custom_fields.hpp"
#include "domain/model.hpp"

namespace crm::contacts::storage {

// Row readers for the column lists of sql.hpp (CRM_CONTACT_COLUMNS etc.), starting at column 0.
domain::Contact ReadContact(const pqxx::row& row);
domain::Company ReadCompany(const pqxx::row& row);
domain::CustomFieldDefinition ReadDefinition(const pqxx::row& row);
domain::ConsentLogEntry ReadConsentLogEntry(const pqxx::row& row);

// Enum values as the schema spells them ('ACTIVE', 'OPTED_IN', 'CONTACT', 'SINGLE_SELECT', ...).
std::string ConsentText(domain::ConsentStatus status);
std::string EntityText(domain::CustomFieldEntity entity);
std::string TypeText(domain::CustomFieldType type);

// Parameter encodings: a PostgreSQL array literal ({"a","b"}), a JSON array, a JSON object.
std::string ArrayLiteral(const std::vector<std::string>& values);
std::string JsonArray(const std::vector<std::string>& values);
std::string JsonObject(const domain::CustomFields& fields);

std::int64_t Micros(domain::Timestamp time);

// Keyset position of the last row of a page.
struct Cursor {
    std::int64_t micros;
    std::string id;
};

// The cursor a page token carries (the start of the keyset for an empty token). Throws ApiError INVALID_ARGUMENT
// (field "page_token") for a token of another query (scope) or a malformed one.
Cursor DecodeCursor(const std::string& tenant, const std::string& page_token, const std::string& scope);
std::string EncodeCursor(const std::string& tenant, const std::string& scope, const Cursor& cursor);

// Turns `limit + 1` fetched items into a page: the extra item, if any, is dropped and a token for the position of the
// last kept item is returned.
template <typename T, typename KeyFn>
domain::Page<T> MakePage(std::vector<T> items, int limit, const std::string& tenant, const std::string& scope,
                         KeyFn key) {
    domain::Page<T> page;
    if (static_cast<int>(items.size()) > limit) {
        items.resize(static_cast<std::size_t>(limit));
        const Cursor last = key(items.back());
        page.next_page_token = EncodeCursor(tenant, scope, last);
    }
    page.items = std::move(items);
    return page;
}
// Idempotency: claims (operation, request_id) for resource_id in tx. Returns the id of the resource created by an
// earlier call with the same request_id, or nullopt when this call is the first (and must go on). An empty
// request_id claims nothing.
std::optional<std::string> ClaimRequest(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                        const std::string& operation, const std::string& request_id,
                                        const std::string& resource_id);

// The tenant's definitions for one entity.
std::vector<domain::CustomFieldDefinition> LoadDefinitions(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                                           domain::CustomFieldEntity entity);

// Throws ApiError INVALID_ARGUMENT unless values match the tenant's definitions (domain::ValidateCustomFields).
void CheckCustomFields(common::Db& db, pqxx::work& tx, const std::string& tenant, domain::CustomFieldEntity entity,
                       const domain::CustomFields& values, const std::string& prefix, bool enforce_required);

// The single row an optimistic write (UPDATE ... WHERE version = $expected RETURNING ...) returned; ABORTED when it
// matched none because another transaction changed the resource first. `resource` names it in the message.
pqxx::row RequireWritten(const pqxx::result& rows, const std::string& resource);

// Throws ApiError ABORTED when a non-empty expected etag differs from the current one.
void CheckEtag(const std::string& expected, std::int64_t current_version);

}  // namespace crm::contacts::storage
