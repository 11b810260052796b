#include "mapping/proto_mapping.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "domain/records.hpp"

namespace crm::contacts::mapping {
namespace {

using google::protobuf::util::TimeUtil;

template <typename Message>
void SetIfPresent(const std::optional<domain::Timestamp>& time, Message* message,
                  google::protobuf::Timestamp* (Message::*mutable_field)()) {
    if (time) *(message->*mutable_field)() = ToProto(*time);
}

nlohmann::json ProtoJson(const google::protobuf::Message& message) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
    if (!status.ok()) throw std::runtime_error("cannot render export JSON");
    return nlohmann::json::parse(json);
}

std::string TimeText(domain::Timestamp time) { return TimeUtil::ToString(ToProto(time)); }

std::string ConsentName(domain::ConsentStatus status) { return v1::ConsentStatus_Name(ToProto(status)); }

}  // namespace

google::protobuf::Timestamp ToProto(domain::Timestamp time) {
    return TimeUtil::MicrosecondsToTimestamp(time.time_since_epoch().count());
}

domain::Timestamp FromProto(const google::protobuf::Timestamp& time) {
    return domain::Timestamp(std::chrono::microseconds(TimeUtil::TimestampToMicroseconds(time)));
}

v1::ConsentStatus ToProto(domain::ConsentStatus status) {
    switch (status) {
        case domain::ConsentStatus::kOptedIn:
            return v1::CONSENT_STATUS_OPTED_IN;
        case domain::ConsentStatus::kOptedOut:
            return v1::CONSENT_STATUS_OPTED_OUT;
        case domain::ConsentStatus::kUnknown:
            break;
    }
    return v1::CONSENT_STATUS_UNKNOWN;
}

v1::ContactState ToProto(domain::ContactState state) {
    switch (state) {
        case domain::ContactState::kMerged:
            return v1::CONTACT_STATE_MERGED;
        case domain::ContactState::kErased:
            return v1::CONTACT_STATE_ERASED;
        case domain::ContactState::kActive:
            break;
    }
    return v1::CONTACT_STATE_ACTIVE;
}

v1::CustomFieldEntity ToProto(domain::CustomFieldEntity entity) {
    switch (entity) {
        case domain::CustomFieldEntity::kContact:
            return v1::CUSTOM_FIELD_ENTITY_CONTACT;
        case domain::CustomFieldEntity::kCompany:
            return v1::CUSTOM_FIELD_ENTITY_COMPANY;
        case domain::CustomFieldEntity::kUnspecified:
            break;
    }
    return v1::CUSTOM_FIELD_ENTITY_UNSPECIFIED;
}

v1::CustomFieldType ToProto(domain::CustomFieldType type) {
    switch (type) {
        case domain::CustomFieldType::kText:
            return v1::CUSTOM_FIELD_TYPE_TEXT;
        case domain::CustomFieldType::kNumber:
            return v1::CUSTOM_FIELD_TYPE_NUMBER;
        case domain::CustomFieldType::kBoolean:
            return v1::CUSTOM_FIELD_TYPE_BOOLEAN;
        case domain::CustomFieldType::kDate:
            return v1::CUSTOM_FIELD_TYPE_DATE;
        case domain::CustomFieldType::kSingleSelect:
            return v1::CUSTOM_FIELD_TYPE_SINGLE_SELECT;
        case domain::CustomFieldType::kUnspecified:
            break;
    }
    return v1::CUSTOM_FIELD_TYPE_UNSPECIFIED;
}

v1::DuplicateReason ToProto(domain::DuplicateReason reason) {
    switch (reason) {
        case domain::DuplicateReason::kEmailExact:
            return v1::DUPLICATE_REASON_EMAIL_EXACT;
        case domain::DuplicateReason::kPhoneExact:
            return v1::DUPLICATE_REASON_PHONE_EXACT;
        case domain::DuplicateReason::kNameAndCompanySimilar:
            return v1::DUPLICATE_REASON_NAME_AND_COMPANY_SIMILAR;
        case domain::DuplicateReason::kNameSimilar:
            return v1::DUPLICATE_REASON_NAME_SIMILAR;
    }
    return v1::DUPLICATE_REASON_UNSPECIFIED;
}

domain::CustomFieldEntity FromProto(v1::CustomFieldEntity entity) {
    switch (entity) {
        case v1::CUSTOM_FIELD_ENTITY_CONTACT:
            return domain::CustomFieldEntity::kContact;
        case v1::CUSTOM_FIELD_ENTITY_COMPANY:
            return domain::CustomFieldEntity::kCompany;
        default:
            return domain::CustomFieldEntity::kUnspecified;
    }
}

domain::CustomFieldType FromProto(v1::CustomFieldType type) {
    switch (type) {
        case v1::CUSTOM_FIELD_TYPE_TEXT:
            return domain::CustomFieldType::kText;
        case v1::CUSTOM_FIELD_TYPE_NUMBER:
            return domain::CustomFieldType::kNumber;
        case v1::CUSTOM_FIELD_TYPE_BOOLEAN:
            return domain::CustomFieldType::kBoolean;
        case v1::CUSTOM_FIELD_TYPE_DATE:
            return domain::CustomFieldType::kDate;
        case v1::CUSTOM_FIELD_TYPE_SINGLE_SELECT:
            return domain::CustomFieldType::kSingleSelect;
        default:
            return domain::CustomFieldType::kUnspecified;
    }
}

v1::Contact ToProto(const domain::Contact& contact) {
    v1::Contact out;
    const domain::ContactFields& f = contact.fields;
    out.set_id(contact.id);
    out.set_given_name(f.given_name);
    out.set_family_name(f.family_name);
    out.set_display_name(domain::DisplayName(f));
    out.set_email(f.email);
    out.set_phone(f.phone);
    out.set_job_title(f.job_title);
    out.set_company_id(f.company_id);
    out.set_owner_id(f.owner_id);
    for (const std::string& tag : f.tags) out.add_tags(tag);
    out.mutable_custom_fields()->insert(f.custom_fields.begin(), f.custom_fields.end());
    v1::EmailConsent* consent = out.mutable_email_consent();
    consent->set_status(ToProto(contact.consent.status));
    if (contact.consent.status != domain::ConsentStatus::kUnknown) {
        *consent->mutable_change_time() = ToProto(contact.consent.change_time);
    }
    consent->set_source(contact.consent.source);
    out.set_state(ToProto(contact.state));
    out.set_merged_into_id(contact.merged_into_id);
    *out.mutable_create_time() = ToProto(contact.create_time);
    *out.mutable_update_time() = ToProto(contact.update_time);
    SetIfPresent(contact.delete_time, &out, &v1::Contact::mutable_delete_time);
    SetIfPresent(contact.erase_time, &out, &v1::Contact::mutable_erase_time);
    out.set_etag(domain::MakeEtag(contact.version));
    out.set_version(contact.version);
    return out;
}

v1::Company ToProto(const domain::Company& company) {
    v1::Company out;
    const domain::CompanyFields& f = company.fields;
    out.set_id(company.id);
    out.set_name(f.name);
    out.set_domain(f.domain);
    out.set_industry(f.industry);
    out.set_owner_id(f.owner_id);
    for (const std::string& tag : f.tags) out.add_tags(tag);
    out.mutable_custom_fields()->insert(f.custom_fields.begin(), f.custom_fields.end());
    *out.mutable_create_time() = ToProto(company.create_time);
    *out.mutable_update_time() = ToProto(company.update_time);
    SetIfPresent(company.delete_time, &out, &v1::Company::mutable_delete_time);
    out.set_etag(domain::MakeEtag(company.version));
    out.set_version(company.version);
    return out;
}

v1::CustomFieldDefinition ToProto(const domain::CustomFieldDefinition& definition) {
    v1::CustomFieldDefinition out;
    out.set_id(definition.id);
    out.set_entity(ToProto(definition.entity));
    out.set_key(definition.key);
    out.set_label(definition.label);
    out.set_type(ToProto(definition.type));
    out.set_required(definition.required);
    for (const std::string& value : definition.allowed_values) out.add_allowed_values(value);
    *out.mutable_create_time() = ToProto(definition.create_time);
    return out;
}

v1::DuplicateMatch ToProto(const domain::DuplicateMatch& match) {
    v1::DuplicateMatch out;
    *out.mutable_contact() = ToProto(match.contact);
    out.set_score(match.score.score);
    for (domain::DuplicateReason reason : match.score.reasons) out.add_reasons(ToProto(reason));
    return out;
}

domain::ContactFields ContactFieldsFromProto(const v1::Contact& contact) {
    domain::ContactFields out;
    out.given_name = contact.given_name();
    out.family_name = contact.family_name();
    out.email = contact.email();
    out.phone = contact.phone();
    out.job_title = contact.job_title();
    out.company_id = contact.company_id();
    out.owner_id = contact.owner_id();
    out.tags.assign(contact.tags().begin(), contact.tags().end());
    out.custom_fields.insert(contact.custom_fields().begin(), contact.custom_fields().end());
    return out;
}

domain::CompanyFields CompanyFieldsFromProto(const v1::Company& company) {
    domain::CompanyFields out;
    out.name = company.name();
    out.domain = company.domain();
    out.industry = company.industry();
    out.owner_id = company.owner_id();
    out.tags.assign(company.tags().begin(), company.tags().end());
    out.custom_fields.insert(company.custom_fields().begin(), company.custom_fields().end());
    return out;
}

domain::CustomFieldDefinition DefinitionFromProto(const v1::CustomFieldDefinition& definition) {
    domain::CustomFieldDefinition out;
    out.entity = FromProto(definition.entity());
    out.key = definition.key();
    out.label = definition.label();
    out.type = FromProto(definition.type());
    out.required = definition.required();
    out.allowed_values.assign(definition.allowed_values().begin(), definition.allowed_values().end());
    return out;
}

std::string ExportToJson(const domain::ContactExport& data) {
    nlohmann::json doc;
    doc["contact"] = ProtoJson(ToProto(data.contact));
    if (data.company) {
        doc["company"] = {{"id", data.company->id}, {"name", data.company->fields.name}};
    } else {
        doc["company"] = nullptr;
    }
    doc["merged_contacts"] = nlohmann::json::array();
    for (const domain::Contact& merged : data.merged_contacts)
        doc["merged_contacts"].push_back(ProtoJson(ToProto(merged)));
    doc["consent_history"] = nlohmann::json::array();
    for (const domain::ConsentLogEntry& entry : data.consent_history) {
        doc["consent_history"].push_back({{"contact_id", entry.contact_id},
                                          {"status", ConsentName(entry.status)},
                                          {"source", entry.source},
                                          {"change_time", TimeText(entry.change_time)}});
    }
    doc["export_time"] = TimeText(data.export_time);
    return doc.dump(2);
}

}  // namespace crm::contacts::mapping
