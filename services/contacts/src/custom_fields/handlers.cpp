// The custom field RPCs of ContactsService: CreateCustomFieldDefinition, ListCustomFieldDefinitions,
// DeleteCustomFieldDefinition. Every field is checked before anything is read or written.
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "custom_fields/custom_fields.hpp"
#include "grpc_service.hpp"

namespace crm::contacts {

using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;

grpc::Status ContactsService::CreateCustomFieldDefinition(ServerContext* sc,
                                                          const v1::CreateCustomFieldDefinitionRequest* req,
                                                          v1::CreateCustomFieldDefinitionResponse* resp) {
    return rpc_.Handle(sc, "CreateCustomFieldDefinition", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        const v1::CustomFieldDefinition& input = req->custom_field_definition();
        const domain::DefinitionCheck check = domain::NormalizeCustomFieldDefinition(custom_fields::RuleOf(input));
        v.Append(check.violations);
        v.ThrowIfAny();
        v1::CustomFieldDefinition definition;
        definition.set_entity(input.entity());
        definition.set_key(check.definition.key);
        definition.set_label(check.definition.label);
        definition.set_type(input.type());
        definition.set_required(check.definition.required);
        for (const std::string& value : check.definition.allowed_values) definition.add_allowed_values(value);
        *resp->mutable_custom_field_definition() =
            custom_fields::CreateDefinition(db_, outbox_, rc, definition, req->request_id());
    });
}

grpc::Status ContactsService::ListCustomFieldDefinitions(ServerContext* sc,
                                                         const v1::ListCustomFieldDefinitionsRequest* req,
                                                         v1::ListCustomFieldDefinitionsResponse* resp) {
    return rpc_.Handle(sc, "ListCustomFieldDefinitions", [&](const RequestContext& rc) {
        const int page_size = common::ResolvePageSize(req->page_size());
        common::Page<v1::CustomFieldDefinition> page =
            custom_fields::ListDefinitions(db_, rc, req->entity(), page_size, req->page_token());
        for (v1::CustomFieldDefinition& definition : page.items) {
            *resp->add_custom_field_definitions() = std::move(definition);
        }
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status ContactsService::DeleteCustomFieldDefinition(ServerContext* sc,
                                                          const v1::DeleteCustomFieldDefinitionRequest* req,
                                                          v1::DeleteCustomFieldDefinitionResponse*) {
    return rpc_.Handle(sc, "DeleteCustomFieldDefinition", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        custom_fields::DeleteDefinition(db_, outbox_, rc, id);
    });
}

}  // namespace crm::contacts
