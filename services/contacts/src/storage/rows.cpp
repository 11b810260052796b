#include "storage/rows.hpp"

#include <nlohmann/json.hpp>

#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "domain/records.hpp"
#include "storage/sql.hpp"
#include "support/violations.hpp"

namespace crm::contacts::storage {
namespace {

// The keyset start: 0001-01-01 and the nil UUID sort before every row.
constexpr std::int64_t kMinMicros = -62135596800000000;
constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";

domain::Timestamp AtMicros(std::int64_t micros) { return domain::Timestamp(std::chrono::microseconds(micros)); }

std::optional<domain::Timestamp> OptionalTime(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return AtMicros(field.as<std::int64_t>());
}

std::vector<std::string> ParseStringArray(const pqxx::field& field) {
    if (field.is_null()) return {};
    return nlohmann::json::parse(field.c_str()).get<std::vector<std::string>>();
}

domain::CustomFields ParseFields(const pqxx::field& field) {
    domain::CustomFields fields;
    const nlohmann::json object = nlohmann::json::parse(field.c_str());  // named: items() refers into it
    for (const auto& [key, value] : object.items()) {
        fields.emplace(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
    return fields;
}

domain::ConsentStatus ParseConsent(std::string_view text) {
    if (text == "OPTED_IN") return domain::ConsentStatus::kOptedIn;
    if (text == "OPTED_OUT") return domain::ConsentStatus::kOptedOut;
    return domain::ConsentStatus::kUnknown;
}

domain::ContactState ParseState(std::string_view text) {
    if (text == "MERGED") return domain::ContactState::kMerged;
    if (text == "ERASED") return domain::ContactState::kErased;
    return domain::ContactState::kActive;
}

domain::CustomFieldEntity ParseEntity(std::string_view text) {
    if (text == "CONTACT") return domain::CustomFieldEntity::kContact;
    if (text == "COMPANY") return domain::CustomFieldEntity::kCompany;
    return domain::CustomFieldEntity::kUnspecified;
}

domain::CustomFieldType ParseType(std::string_view text) {
    if (text == "TEXT") return domain::CustomFieldType::kText;
    if (text == "NUMBER") return domain::CustomFieldType::kNumber;
    if (text == "BOOLEAN") return domain::CustomFieldType::kBoolean;
    if (text == "DATE") return domain::CustomFieldType::kDate;
    if (text == "SINGLE_SELECT") return domain::CustomFieldType::kSingleSelect;
    return domain::CustomFieldType::kUnspecified;
}

}  // namespace

domain::Contact ReadContact(const pqxx::row& row) {
    domain::Contact c;
    c.id = row[0].as<std::string>();
    c.fields.given_name = row[1].as<std::string>();
    c.fields.family_name = row[2].as<std::string>();
    c.fields.email = row[3].as<std::string>();
    c.fields.phone = row[4].as<std::string>();
    c.fields.job_title = row[5].as<std::string>();
    c.fields.company_id = row[6].as<std::string>();
    c.fields.owner_id = row[7].as<std::string>();
    c.fields.tags = ParseStringArray(row[8]);
    c.fields.custom_fields = ParseFields(row[9]);
    c.consent.status = ParseConsent(row[10].as<std::string>());
    c.consent.change_time = OptionalTime(row[11]).value_or(domain::Timestamp{});
    c.consent.source = row[12].as<std::string>();
    c.state = ParseState(row[13].as<std::string>());
    c.merged_into_id = row[14].as<std::string>();
    c.create_time = AtMicros(row[15].as<std::int64_t>());
    c.update_time = AtMicros(row[16].as<std::int64_t>());
    c.delete_time = OptionalTime(row[17]);
    c.erase_time = OptionalTime(row[18]);
    c.version = row[19].as<std::int64_t>();
    return c;
}

domain::Company ReadCompany(const pqxx::row& row) {
    domain::Company c;
    c.id = row[0].as<std::string>();
    c.fields.name = row[1].as<std::string>();
    c.fields.domain = row[2].as<std::string>();
    c.fields.industry = row[3].as<std::string>();
    c.fields.owner_id = row[4].as<std::string>();
    c.fields.tags = ParseStringArray(row[5]);
    c.fields.custom_fields = ParseFields(row[6]);
    c.create_time = AtMicros(row[7].as<std::int64_t>());
    c.update_time = AtMicros(row[8].as<std::int64_t>());
    c.delete_time = OptionalTime(row[9]);
    c.version = row[10].as<std::int64_t>();
    return c;
}

domain::CustomFieldDefinition ReadDefinition(const pqxx::row& row) {
    domain::CustomFieldDefinition d;
    d.id = row[0].as<std::string>();
    d.entity = ParseEntity(row[1].as<std::string>());
    d.key = row[2].as<std::string>();
    d.label = row[3].as<std::string>();
    d.type = ParseType(row[4].as<std::string>());
    d.required = row[5].as<bool>();
    d.allowed_values = ParseStringArray(row[6]);
    d.create_time = AtMicros(row[7].as<std::int64_t>());
    return d;
}

domain::ConsentLogEntry ReadConsentLogEntry(const pqxx::row& row) {
    return {.contact_id = row[0].as<std::string>(),
            .status = ParseConsent(row[1].as<std::string>()),
            .source = row[2].as<std::string>(),
            .change_time = AtMicros(row[3].as<std::int64_t>())};
}

std::string ConsentText(domain::ConsentStatus status) {
    switch (status) {
        case domain::ConsentStatus::kOptedIn:
            return "OPTED_IN";
        case domain::ConsentStatus::kOptedOut:
            return "OPTED_OUT";
        case domain::ConsentStatus::kUnknown:
            break;
    }
    return "UNKNOWN";
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

std::string TypeText(domain::CustomFieldType type) {
    switch (type) {
        case domain::CustomFieldType::kText:
            return "TEXT";
        case domain::CustomFieldType::kNumber:
            return "NUMBER";
        case domain::CustomFieldType::kBoolean:
            return "BOOLEAN";
        case domain::CustomFieldType::kDate:
            return "DATE";
        case domain::CustomFieldType::kSingleSelect:
            return "SINGLE_SELECT";
        case domain::CustomFieldType::kUnspecified:
            break;
    }
    return "";
}

std::string ArrayLiteral(const std::vector<std::string>& values) {
    std::string literal = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) literal.push_back(',');
        literal.push_back('"');
        for (char c : values[i]) {
            if (c == '"' || c == '\\') literal.push_back('\\');
            literal.push_back(c);
        }
        literal.push_back('"');
    }
    literal.push_back('}');
    return literal;
}

std::string JsonArray(const std::vector<std::string>& values) { return nlohmann::json(values).dump(); }

std::string JsonObject(const domain::CustomFields& fields) { return nlohmann::json(fields).dump(); }

std::int64_t Micros(domain::Timestamp time) { return time.time_since_epoch().count(); }

Cursor DecodeCursor(const std::string& tenant, const std::string& page_token, const std::string& scope) {
    const std::vector<std::string> keys = common::DecodePageToken(page_token, tenant, scope, 2);
    if (keys.empty()) return {.micros = kMinMicros, .id = kNilUuid};
    std::int64_t micros = 0;
    try {
        std::size_t used = 0;
        micros = std::stoll(keys[0], &used);
        if (used != keys[0].size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
        throw common::ApiError::InvalidArgument("page_token", "malformed page token");
    }
    if (!domain::IsUuid(keys[1])) throw common::ApiError::InvalidArgument("page_token", "malformed page token");
    return {.micros = micros, .id = keys[1]};
}

std::string EncodeCursor(const std::string& tenant, const std::string& scope, const Cursor& cursor) {
    return common::EncodePageToken(tenant, scope, {std::to_string(cursor.micros), cursor.id});
}

std::optional<std::string> ClaimRequest(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                        const std::string& operation, const std::string& request_id,
                                        const std::string& resource_id) {
    if (request_id.empty()) return std::nullopt;
    // A concurrent twin blocks here on the primary key until the first transaction ends; then it either inserts
    // (the first rolled back) or sees the committed claim.
    if (!db.Exec(tx, sql::kClaimRequest, tenant, operation, request_id, resource_id).empty()) return std::nullopt;
    const pqxx::result existing = db.Exec(tx, sql::kClaimedResource, tenant, operation, request_id);
    if (existing.empty()) throw common::ApiError::Aborted("request_id is in use by a concurrent call", "RETRY");
    return existing[0][0].as<std::string>();
}

std::vector<domain::CustomFieldDefinition> LoadDefinitions(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                                           domain::CustomFieldEntity entity) {
    std::vector<domain::CustomFieldDefinition> definitions;
    for (const auto& row : db.Exec(tx, sql::kDefinitionsOf, tenant, EntityText(entity))) {
        definitions.push_back(ReadDefinition(row));
    }
    return definitions;
}

void CheckCustomFields(common::Db& db, pqxx::work& tx, const std::string& tenant, domain::CustomFieldEntity entity,
                       const domain::CustomFields& values, const std::string& prefix, bool enforce_required) {
    const auto definitions = LoadDefinitions(db, tx, tenant, entity);
    ThrowIfInvalid(domain::ValidateCustomFields(values, definitions, prefix, enforce_required));
}

pqxx::row RequireWritten(const pqxx::result& rows, const std::string& resource) {
    if (rows.empty()) {
        throw common::ApiError::Aborted("the " + resource + " was changed concurrently; read it and retry",
                                        "CONCURRENT_MODIFICATION");
    }
    return rows[0];
}

void CheckEtag(const std::string& expected, std::int64_t current_version) {
    if (!expected.empty() && expected != domain::MakeEtag(current_version)) {
        throw common::ApiError::Aborted("the etag does not match the current version; read the resource and retry");
    }
}

}  // namespace crm::contacts::storage
