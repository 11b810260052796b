#include "http/openapi.hpp"

#include <google/protobuf/descriptor.h>

#include <nlohmann/json.hpp>
#include <set>

namespace crm::gateway {
namespace {

namespace pb = google::protobuf;
using nlohmann::json;

std::string Ref(const std::string& full_name) { return "#/components/schemas/" + full_name; }

class SchemaBuilder {
  public:
    explicit SchemaBuilder(json& schemas) : schemas_(schemas) {}

    // The schema of one field's value (without the repeated wrapper).
    json Value(const pb::FieldDescriptor* f) {
        switch (f->type()) {
            case pb::FieldDescriptor::TYPE_INT32:
            case pb::FieldDescriptor::TYPE_SINT32:
            case pb::FieldDescriptor::TYPE_SFIXED32:
                return {{"type", "integer"}, {"format", "int32"}};
            case pb::FieldDescriptor::TYPE_UINT32:
            case pb::FieldDescriptor::TYPE_FIXED32:
                return {{"type", "integer"}, {"format", "int64"}, {"minimum", 0}};
            case pb::FieldDescriptor::TYPE_INT64:
            case pb::FieldDescriptor::TYPE_SINT64:
            case pb::FieldDescriptor::TYPE_SFIXED64:
                return {{"type", "string"}, {"format", "int64"}};
            case pb::FieldDescriptor::TYPE_UINT64:
            case pb::FieldDescriptor::TYPE_FIXED64:
                return {{"type", "string"}, {"format", "uint64"}};
            case pb::FieldDescriptor::TYPE_DOUBLE:
                return {{"type", "number"}, {"format", "double"}};
            case pb::FieldDescriptor::TYPE_FLOAT:
                return {{"type", "number"}, {"format", "float"}};
            case pb::FieldDescriptor::TYPE_BOOL:
                return {{"type", "boolean"}};
            case pb::FieldDescriptor::TYPE_STRING:
                return {{"type", "string"}};
            case pb::FieldDescriptor::TYPE_BYTES:
                return {{"type", "string"}, {"format", "byte"}};
            case pb::FieldDescriptor::TYPE_ENUM: {
                json values = json::array();
                for (int i = 0; i < f->enum_type()->value_count(); ++i)
                    values.push_back(f->enum_type()->value(i)->name());
                return {{"type", "string"}, {"enum", values}};
            }
            case pb::FieldDescriptor::TYPE_MESSAGE:
            case pb::FieldDescriptor::TYPE_GROUP:
                return Message(f->message_type());
        }
        return json::object();
    }

    json Field(const pb::FieldDescriptor* f) {
        if (f->is_map()) {
            return {{"type", "object"}, {"additionalProperties", Value(f->message_type()->map_value())}};
        }
        if (f->is_repeated()) return {{"type", "array"}, {"items", Value(f)}};
        return Value(f);
    }

    // A $ref to the message's schema (defined once), or an inline schema for well-known types.
    json Message(const pb::Descriptor* d) {
        const std::string& name = d->full_name();
        if (name == "google.protobuf.Timestamp") return {{"type", "string"}, {"format", "date-time"}};
        if (name == "google.protobuf.Duration") return {{"type", "string"}, {"example", "1.5s"}};
        if (name == "google.protobuf.FieldMask") return {{"type", "string"}, {"example", "givenName,email"}};
        if (name == "google.protobuf.Empty") return {{"type", "object"}};
        if (name == "google.protobuf.Struct") return {{"type", "object"}};
        if (name == "google.protobuf.Value") return json::object();
        if (name == "google.protobuf.Any")
            return {{"type", "object"}, {"properties", {{"@type", {{"type", "string"}}}}}};
        if (name.rfind("google.protobuf.", 0) == 0 && d->field_count() == 1 && d->field(0)->name() == "value") {
            return Value(d->field(0));  // wrappers
        }
        if (!defined_.insert(name).second) return {{"$ref", Ref(name)}};
        json properties = json::object();
        schemas_[name] = json::object();  // placeholder against recursion
        for (int i = 0; i < d->field_count(); ++i) properties[d->field(i)->json_name()] = Field(d->field(i));
        schemas_[name] = {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
        return {{"$ref", Ref(name)}};
    }

  private:
    json& schemas_;
    std::set<std::string> defined_;
};

// Scalar fields a client may put in the query string: every leaf not bound by the path or the body (nested
// message fields as dotted names, at most two levels deep).
void QueryParameters(const pb::Descriptor* d, const std::string& prefix, const std::set<std::string>& excluded,
                     SchemaBuilder& schemas, json& out, int depth) {
    for (int i = 0; i < d->field_count(); ++i) {
        const auto* f = d->field(i);
        const std::string name = prefix + f->name();
        if (excluded.contains(name) || f->is_map()) continue;
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
            const std::string& type = f->message_type()->full_name();
            const bool wkt = type == "google.protobuf.Timestamp" || type == "google.protobuf.Duration" ||
                             type == "google.protobuf.FieldMask" ||
                             (type.rfind("google.protobuf.", 0) == 0 && f->message_type()->field_count() == 1);
            if (!wkt) {
                if (!f->is_repeated() && depth < 2)
                    QueryParameters(f->message_type(), name + ".", excluded, schemas, out, depth + 1);
                continue;
            }
        }
        json p = {{"name", name}, {"in", "query"}, {"required", false}, {"schema", schemas.Field(f)}};
        if (f->is_repeated()) p["explode"] = true;
        out.push_back(std::move(p));
    }
}

std::string OpenApiPath(const PathTemplate& t) {
    // "{name=contacts/*}" becomes "{name}"; literal segments and the verb stay.
    std::string out;
    size_t var = 0;
    const auto& vars = t.variables();
    for (size_t k = 0; k < t.segments().size();) {
        if (var < vars.size() && vars[var].first == k) {
            std::string name;
            for (const auto& p : vars[var].field_path) name += (name.empty() ? "" : ".") + p;
            out += "/{" + name + "}";
            k += vars[var].count;
            ++var;
            continue;
        }
        const auto& s = t.segments()[k];
        out += "/" + (s.kind == PathTemplate::Segment::Kind::kLiteral ? s.literal
                      : s.kind == PathTemplate::Segment::Kind::kStar  ? std::string("*")
                                                                      : std::string("**"));
        ++k;
    }
    if (!t.verb().empty()) out += ":" + t.verb();
    return out;
}

std::string Lower(std::string s) {
    for (auto& c : s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
}

}  // namespace

std::string OpenApiDocument(const HttpRouteTable& routes) {
    json schemas = json::object();
    SchemaBuilder builder(schemas);
    json paths = json::object();
    std::set<std::string> operation_ids;
    for (const auto& r : routes.routes()) {
        const pb::MethodDescriptor* m = r.method;
        json op;
        std::string id = m->service()->full_name() + "." + m->name();
        for (int n = 2; !operation_ids.insert(id).second; ++n)
            id = m->service()->full_name() + "." + m->name() + "_" + std::to_string(n);
        op["operationId"] = id;
        op["summary"] = m->name();
        op["tags"] = json::array({m->service()->full_name()});
        op["description"] = "gRPC " + r.grpc_path;
        json parameters = json::array();
        std::set<std::string> excluded;
        for (size_t i = 0; i < r.path.variables().size(); ++i) {
            const auto& fields = r.variable_fields[i];
            std::string name;
            for (const auto& p : r.path.variables()[i].field_path) name += (name.empty() ? "" : ".") + p;
            std::string proto_name;
            for (const auto* f : fields) proto_name += (proto_name.empty() ? "" : ".") + f->name();
            excluded.insert(proto_name);
            parameters.push_back(
                {{"name", name}, {"in", "path"}, {"required", true}, {"schema", builder.Field(fields.back())}});
        }
        if (r.body == "*") {
            json body = builder.Message(m->input_type());
            op["requestBody"] = {{"required", false}, {"content", {{"application/json", {{"schema", body}}}}}};
        } else {
            if (r.body_field != nullptr) {
                excluded.insert(r.body_field->name());
                op["requestBody"] = {{"required", true},
                                     {"content", {{"application/json", {{"schema", builder.Field(r.body_field)}}}}}};
            }
            QueryParameters(m->input_type(), "", excluded, builder, parameters, 0);
        }
        if (!parameters.empty()) op["parameters"] = parameters;
        const json response =
            r.response_field != nullptr ? builder.Field(r.response_field) : builder.Message(m->output_type());
        op["responses"] = {
            {"200", {{"description", "OK"}, {"content", {{"application/json", {{"schema", response}}}}}}},
            {"default",
             {{"description", "Error (gRPC status mapped to HTTP)"},
              {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
        paths[OpenApiPath(r.path)][Lower(r.http_method)] = std::move(op);
    }
    schemas["Error"] = {
        {"type", "object"},
        {"properties",
         {{"error",
           {{"type", "object"},
            {"properties",
             {{"code", {{"type", "integer"}, {"description", "HTTP status"}}},
              {"message", {{"type", "string"}}},
              {"status", {{"type", "string"}, {"description", "gRPC status code name, e.g. NOT_FOUND"}}},
              {"details",
               {{"type", "array"},
                {"items",
                 {{"type", "object"},
                  {"description",
                   "google.rpc error details (BadRequest with fieldViolations, ErrorInfo, RetryInfo), each with "
                   "its @type"}}}}}}}}}}}};
    json doc = {
        {"openapi", "3.0.3"},
        {"info",
         {{"title", "CRM API"},
          {"version", "v1"},
          {"description",
           "HTTP/JSON transcoding of the CRM gRPC API (proto3 JSON mapping), generated by the gateway from the "
           "google.api.http rules of the protos."}}},
        {"paths", paths},
        {"components",
         {{"schemas", schemas},
          {"securitySchemes",
           {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}},
            {"apiKey", {{"type", "apiKey"}, {"in", "header"}, {"name", "x-api-key"}}}}}}},
        {"security", json::array({{{"bearer", json::array()}}, {{"apiKey", json::array()}}})},
    };
    return doc.dump();
}

}  // namespace crm::gateway
