#include "proxy/routes.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using crm::gateway::ParseMethodPath;
using crm::gateway::Route;
using crm::gateway::RouteTable;

TEST_CASE("a route table parses from CRM_ROUTES") {
    auto t = RouteTable::Parse("crm.contacts.v1=127.0.0.1:50051,crm.leads.v1=127.0.0.1:50052");
    REQUIRE(t.routes().size() == 2);
    CHECK(t.routes()[0] == Route{"crm.contacts.v1", "127.0.0.1:50051"});
    CHECK(t.routes()[1] == Route{"crm.leads.v1", "127.0.0.1:50052"});
    REQUIRE(t.Find("crm.leads.v1") != nullptr);
    CHECK(t.Find("crm.leads.v1")->target == "127.0.0.1:50052");
    CHECK(t.Find("crm.leads") == nullptr);
    CHECK(t.Find("crm.leads.v1.LeadsService") == nullptr);
    CHECK(t.Find("") == nullptr);
}

TEST_CASE("route parsing tolerates spaces and empty items, and accepts gRPC target URIs") {
    auto t = RouteTable::Parse(" crm.contacts.v1 = dns:///contacts.crm.svc:50051 , ,crm.sales.v1=unix:/run/s.sock,");
    REQUIRE(t.routes().size() == 2);
    CHECK(t.routes()[0] == Route{"crm.contacts.v1", "dns:///contacts.crm.svc:50051"});
    CHECK(t.routes()[1] == Route{"crm.sales.v1", "unix:/run/s.sock"});
    CHECK(RouteTable::Parse("x=[::1]:50051").routes()[0].target == "[::1]:50051");
}

TEST_CASE("bad route tables are refused with a message") {
    for (const char* spec :
         {"", " , ", "crm.contacts.v1", "=127.0.0.1:1", "crm.contacts.v1=", "crm..v1=h:1", "crm.contacts.v1.=h:1",
          ".crm=h:1", "crm.1contacts=h:1", "crm-contacts.v1=h:1", "crm.contacts.v1=h:1=2",
          "crm.contacts.v1=host name:1", "crm.contacts.v1=h:1,crm.contacts.v1=h:2"}) {
        CAPTURE(spec);
        CHECK_THROWS_AS(RouteTable::Parse(spec), std::invalid_argument);
    }
    CHECK_THROWS_WITH(RouteTable::Parse("a.b=h:1,a.b=h:2"), Catch::Contains("routed twice"));
    CHECK_THROWS_WITH(RouteTable::Parse("a.b"), Catch::Contains("package=host:port"));
}

TEST_CASE("method paths split into service, package and method") {
    auto p = ParseMethodPath("/crm.contacts.v1.ContactsService/CreateContact");
    REQUIRE(p);
    CHECK(p->service == "crm.contacts.v1.ContactsService");
    CHECK(p->package == "crm.contacts.v1");
    CHECK(p->method == "CreateContact");

    auto h = ParseMethodPath("/grpc.health.v1.Health/Check");
    REQUIRE(h);
    CHECK(h->package == "grpc.health.v1");
}

TEST_CASE("malformed method paths are refused") {
    for (const char* path :
         {"", "/", "//", "crm.contacts.v1.ContactsService/CreateContact", "/crm.contacts.v1.ContactsService",
          "/crm.contacts.v1.ContactsService/", "/ContactsService/CreateContact",
          "/crm.contacts.v1.ContactsService/Create/Contact", "/crm.contacts.v1.ContactsService/Create Contact",
          "/crm..v1.S/M", "/.crm.S/M", "/crm.contacts.v1./M", "/crm.contacts.v1.ContactsService/1Create",
          "/crm.contacts.v1.Contacts-Service/Create"}) {
        CAPTURE(path);
        CHECK_FALSE(ParseMethodPath(path).has_value());
    }
    CHECK_FALSE(ParseMethodPath("/a." + std::string(300, 'S') + "/M").has_value());
}

TEST_CASE("routing a method path through the table") {
    auto t = RouteTable::Parse("crm.contacts.v1=127.0.0.1:50051");
    auto routed = ParseMethodPath("/crm.contacts.v1.ContactsService/GetContact");
    auto other = ParseMethodPath("/crm.contacts.v2.ContactsService/GetContact");
    auto prefix = ParseMethodPath("/crm.contacts.v1x.ContactsService/GetContact");
    REQUIRE(routed);
    REQUIRE(other);
    REQUIRE(prefix);
    CHECK(t.Find(routed->package) != nullptr);
    CHECK(t.Find(other->package) == nullptr);
    CHECK(t.Find(prefix->package) == nullptr);
}
