#pragma once
// HTTP rules of the HTTP/JSON transcoder: the google.api.http annotations of the RPCs linked into the gateway,
// parsed once at start into a route table that maps "PATCH /v1/contacts/{contact.id}" to
// crm.contacts.v1.ContactsService/UpdateContact. Path templates follow Google's grammar (google/api/http.proto):
//   Template = "/" Segments [ ":" Verb ] ;  Segment = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segments ] "}" ;
// Pure code over protobuf descriptors (no gRPC, no sockets).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace google::protobuf {
class MethodDescriptor;
class FieldDescriptor;
class Descriptor;
}  // namespace google::protobuf

namespace crm::gateway {

class PathTemplate {
  public:
    struct Segment {
        enum class Kind { kLiteral, kStar, kDoubleStar };
        Kind kind = Kind::kLiteral;
        std::string literal;
    };
    struct Variable {
        std::vector<std::string> field_path;  // "contact.id" -> {"contact", "id"}
        size_t first = 0;                     // index of its first segment
        size_t count = 1;                     // segments it spans (a "**" spans the rest)
    };

    // Throws std::invalid_argument naming the problem.
    static PathTemplate Parse(std::string_view text);

    // Binds the variables of a request path (no query string). Segments are percent-decoded; nothing when the path
    // does not match or holds a bad percent-encoding.
    std::optional<std::vector<std::pair<std::string, std::string>>> Match(std::string_view path) const;

    const std::string& text() const { return text_; }
    const std::string& verb() const { return verb_; }
    const std::vector<Segment>& segments() const { return segments_; }
    const std::vector<Variable>& variables() const { return variables_; }
    size_t literal_count() const;

  private:
    std::string text_;
    std::string verb_;
    std::vector<Segment> segments_;
    std::vector<Variable> variables_;
};

// One HTTP binding of one RPC.
struct HttpRoute {
    std::string http_method;  // "GET", "POST", ... (upper case)
    PathTemplate path;
    const google::protobuf::MethodDescriptor* method = nullptr;
    std::string grpc_path;                                              // "/crm.contacts.v1.ContactsService/GetContact"
    std::string package;                                                // "crm.contacts.v1": the backend route
    std::string body;                                                   // "", "*" or a top-level field name
    const google::protobuf::FieldDescriptor* body_field = nullptr;      // set when body names a field
    const google::protobuf::FieldDescriptor* response_field = nullptr;  // response_body, when set
    // Variables resolved to fields (the last field of each path is a scalar): index aligned with path.variables().
    std::vector<std::vector<const google::protobuf::FieldDescriptor*>> variable_fields;
};

// Resolves a dot-separated field path (proto or JSON names per part) from a message type; only the last field may
// be a non-message; no map or repeated field in the middle. Empty when it does not resolve.
std::vector<const google::protobuf::FieldDescriptor*> ResolveFieldPath(const google::protobuf::Descriptor* message,
                                                                       std::string_view path);

class HttpRouteTable {
  public:
    // Every annotated, unary RPC of the services whose descriptors are linked into the binary and whose package
    // starts with package_prefix ("crm."). Bad annotations (unparsable template, unknown field, ...) throw
    // std::invalid_argument listing all of them: a typo must not silently drop a route.
    static HttpRouteTable FromLinkedDescriptors(std::string_view package_prefix = "crm.");
    // The same from explicit methods (tests).
    static HttpRouteTable FromMethods(const std::vector<const google::protobuf::MethodDescriptor*>& methods);

    struct Match {
        const HttpRoute* route = nullptr;
        std::vector<std::pair<std::string, std::string>> bindings;  // variable text -> decoded value
    };
    enum class Miss { kNone, kNoRoute, kWrongMethod };
    // Finds the route for a method and path: rules with a matching custom verb first, then the one with the most
    // literal segments. Miss kWrongMethod (405) when the path matches a route of another HTTP method.
    std::pair<std::optional<Match>, Miss> Find(std::string_view http_method, std::string_view path) const;

    // The HTTP methods that serve a path (Allow header, CORS preflight).
    std::vector<std::string> MethodsFor(std::string_view path) const;

    const std::vector<HttpRoute>& routes() const { return routes_; }
    // Unary RPCs of the scanned services that have no HTTP rule ("service/method").
    const std::vector<std::string>& unmapped() const { return unmapped_; }

  private:
    std::vector<HttpRoute> routes_;
    std::vector<std::string> unmapped_;
};

// Percent-decodes a URL component ('+' stays '+'; in query strings the caller turns '+' into a space first).
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace crm::gateway
