// What the gateway's reflection lists besides its own services: the linked services of the routed packages.
#include "proxy/reflection.hpp"

#include <crm/contacts/v1/contacts.grpc.pb.h>

#include <catch2/catch.hpp>

using namespace crm::gateway;

TEST_CASE("reflection lists the linked services of routed packages, and only those") {
    const auto listed = RoutedServices(RouteTable::Parse("crm.contacts.v1=127.0.0.1:1,crm.unknown.v1=127.0.0.1:2"));
    CHECK(listed == std::vector<std::string>{crm::contacts::v1::ContactsService::service_full_name()});
    CHECK(RoutedServices(RouteTable::Parse("crm.unknown.v1=127.0.0.1:2")).empty());
    CHECK(RoutedServices(RouteTable()).empty());
}
