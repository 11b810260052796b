#pragma once
// Server reflection on the gateway describes every service it routes, not only its own: `grpcurl <gateway> list`
// names them and `describe` shows their methods and messages, from the descriptors linked into the binary (the same
// ones HTTP/JSON transcoding uses), so a newcomer explores the API without the proto files.
//
// gRPC's reflection service lists the services registered on the server; the routed ones are served by the generic
// proxy instead, so ListedInReflection replaces the reflection plugin the kit enables with one that adds their
// names to that list once the server is built. Describing them needs nothing more: reflection reads the generated
// descriptor pool.
#include <memory>
#include <string>
#include <vector>

#include "proxy/routes.hpp"

namespace grpc {
class ServerBuilderOption;
}

namespace crm::gateway {

// The full names of the services of the linked descriptors whose package is routed, sorted.
std::vector<std::string> RoutedServices(const RouteTable& routes);

// A ServerBuilder option (ServerBuilder::SetOption) under which reflection also lists `services`.
std::unique_ptr<grpc::ServerBuilderOption> ListedInReflection(std::vector<std::string> services);

}  // namespace crm::gateway
