#pragma once
// Conversions between crm.contacts.v1 messages and the domain types. Used by the API handlers and by the repository
// (event payloads). Includes generated protobuf headers: include only from .cpp files.
#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <vector>

#include "crm/contacts/v1/contacts.pb.h"
#include "domain/custom_fields.hpp"
#include "domain/model.hpp"

namespace crm::contacts::mapping {

namespace v1 = crm::contacts::v1;

google::protobuf::Timestamp ToProto(domain::Timestamp time);
domain::Timestamp FromProto(const google::protobuf::Timestamp& time);

v1::ConsentStatus ToProto(domain::ConsentStatus status);
v1::ContactState ToProto(domain::ContactState state);
v1::CustomFieldEntity ToProto(domain::CustomFieldEntity entity);
v1::CustomFieldType ToProto(domain::CustomFieldType type);
v1::DuplicateReason ToProto(domain::DuplicateReason reason);
domain::CustomFieldEntity FromProto(v1::CustomFieldEntity entity);
domain::CustomFieldType FromProto(v1::CustomFieldType type);

v1::Contact ToProto(const domain::Contact& contact);
v1::Company ToProto(const domain::Company& company);
v1::CustomFieldDefinition ToProto(const domain::CustomFieldDefinition& definition);
v1::DuplicateMatch ToProto(const domain::DuplicateMatch& match);

// The client-writable fields of a request message (output-only fields are ignored).
domain::ContactFields ContactFieldsFromProto(const v1::Contact& contact);
domain::CompanyFields CompanyFieldsFromProto(const v1::Company& company);
domain::CustomFieldDefinition DefinitionFromProto(const v1::CustomFieldDefinition& definition);

// The JSON document of ExportContactData: {"contact": {...}, "company": {...} | null, "merged_contacts": [...],
// "consent_history": [...], "export_time": "..."}; contacts in proto JSON form with the proto field names.
std::string ExportToJson(const domain::ContactExport& data);

}  // namespace crm::contacts::mapping
