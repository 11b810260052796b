#pragma once
// Routing by gRPC service name: "/crm.contacts.v1.ContactsService/CreateContact" goes to the backend configured for
// the package "crm.contacts.v1". The table comes from CRM_ROUTES ("pkg=target,pkg=target"). Pure code.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm::gateway {

struct Route {
    std::string package;  // "crm.contacts.v1"
    std::string target;   // gRPC target: "127.0.0.1:50051", "dns:///contacts:50051", "unix:/run/contacts.sock"
    bool operator==(const Route&) const = default;
};

class RouteTable {
  public:
    RouteTable() = default;
    explicit RouteTable(std::vector<Route> routes);  // throws std::invalid_argument on a bad or duplicate route

    // Parses "crm.contacts.v1=127.0.0.1:50051,crm.leads.v1=127.0.0.1:50052". Spaces around items are ignored, empty
    // items too (a trailing comma is harmless). Throws std::invalid_argument with a message naming the bad item.
    static RouteTable Parse(std::string_view spec);

    const Route* Find(std::string_view package) const;  // nullptr when the package is not routed
    const std::vector<Route>& routes() const { return routes_; }

  private:
    std::vector<Route> routes_;
};

// A gRPC method path split into its parts; views into the path.
struct MethodPath {
    std::string_view service;  // "crm.contacts.v1.ContactsService"
    std::string_view package;  // "crm.contacts.v1"
    std::string_view method;   // "CreateContact"
};

// Parses "/<package>.<Service>/<Method>". Returns nothing when the path is not of that shape, is longer than 256
// bytes, or holds characters a proto identifier cannot.
std::optional<MethodPath> ParseMethodPath(std::string_view path);

// A proto identifier: [A-Za-z_][A-Za-z0-9_]*.
bool IsProtoIdentifier(std::string_view name);

// A proto package name: dot-separated identifiers ([A-Za-z_][A-Za-z0-9_]*), at most 128 bytes.
bool IsValidPackage(std::string_view package);

}  // namespace crm::gateway
