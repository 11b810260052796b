// HTTP rules: path templates (Google's grammar), the route table built from the linked descriptors, route lookup,
// and bad annotations refused at start with every problem listed.
#include <google/api/annotations.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <catch2/catch.hpp>
#include <set>

#include "http/rules.hpp"

using namespace crm::gateway;
namespace pb = google::protobuf;

using Bindings = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("path template: literals, variables, verbs and wildcards match and bind", "[http][rules]") {
    auto t = PathTemplate::Parse("/v1/contacts/{id}");
    CHECK(t.Match("/v1/contacts/abc") == Bindings{{"id", "abc"}});
    CHECK(t.Match("/v1/contacts/a%20b%2Fc") == Bindings{{"id", "a b/c"}});
    CHECK_FALSE(t.Match("/v1/contacts/"));
    CHECK_FALSE(t.Match("/v1/contacts"));
    CHECK_FALSE(t.Match("/v1/contacts/a/b"));
    CHECK_FALSE(t.Match("/v1/companies/a"));
    CHECK_FALSE(t.Match("/v1/contacts/%zz"));  // bad percent-encoding
    CHECK_FALSE(t.Match("/v1/contacts/%4"));
    CHECK_FALSE(t.Match("v1/contacts/a"));

    auto verb = PathTemplate::Parse("/v1/contacts/{survivor_id}:merge");
    CHECK(verb.verb() == "merge");
    CHECK(verb.Match("/v1/contacts/x:merge") == Bindings{{"survivor_id", "x"}});
    CHECK_FALSE(verb.Match("/v1/contacts/x"));
    CHECK_FALSE(verb.Match("/v1/contacts/:merge"));

    auto nested = PathTemplate::Parse("/v1/{name=tenants/*/contacts/*}/{contact.id}");
    CHECK(nested.Match("/v1/tenants/t1/contacts/c1/x") ==
          Bindings{{"name", "tenants/t1/contacts/c1"}, {"contact.id", "x"}});
    CHECK_FALSE(nested.Match("/v1/tenants/t1/people/c1/x"));

    auto rest = PathTemplate::Parse("/v1/files/{path=**}");
    CHECK(rest.Match("/v1/files/a/b/c") == Bindings{{"path", "a/b/c"}});
    CHECK(rest.literal_count() == 2);
}

TEST_CASE("path template: malformed templates are refused", "[http][rules]") {
    for (const char* bad : {"", "v1/x", "/v1/{id", "/v1/{id}x", "/v1/{a.}", "/v1/{1a}", "/v1/{id}/{id}", "/v1/**/x",
                            "/v1/x:", "/v1//x", "/v1/{a={b}}", "/v1/x y"}) {
        INFO(bad);
        CHECK_THROWS_AS(PathTemplate::Parse(bad), std::invalid_argument);
    }
}

TEST_CASE("route table: every contacts RPC has an HTTP route", "[http][rules]") {
    const auto table = HttpRouteTable::FromLinkedDescriptors();
    for (const auto& name : table.unmapped()) CHECK(name.rfind("crm.contacts.", 0) != 0);
    const auto* contacts = pb::DescriptorPool::generated_pool()->FindServiceByName("crm.contacts.v1.ContactsService");
    REQUIRE(contacts != nullptr);
    std::set<std::string> routed;
    for (const auto& r : table.routes()) routed.insert(r.method->full_name());
    for (int i = 0; i < contacts->method_count(); ++i) {
        INFO(contacts->method(i)->full_name());
        CHECK(routed.contains(contacts->method(i)->full_name()));
    }
}

TEST_CASE("route table: lookup by method and path, custom verbs before plain variables", "[http][rules]") {
    const auto table = HttpRouteTable::FromLinkedDescriptors();
    auto method_of = [&](const char* m, const char* path) -> std::string {
        auto [match, miss] = table.Find(m, path);
        return match ? match->route->method->name() : "";
    };
    CHECK(method_of("GET", "/v1/contacts/abc") == "GetContact");
    CHECK(method_of("GET", "/v1/contacts") == "ListContacts");
    CHECK(method_of("POST", "/v1/contacts") == "CreateContact");
    CHECK(method_of("PATCH", "/v1/contacts/abc") == "UpdateContact");
    CHECK(method_of("DELETE", "/v1/contacts/abc") == "DeleteContact");
    CHECK(method_of("GET", "/v1/contacts:search") == "SearchContacts");
    CHECK(method_of("GET", "/v1/contacts/abc:export") == "ExportContactData");  // not GetContact("abc:export")
    CHECK(method_of("POST", "/v1/contacts/abc:merge") == "MergeContacts");
    CHECK(method_of("POST", "/v1/contacts:findDuplicates") == "FindDuplicates");
    CHECK(method_of("GET", "/v1/contacts/abc:findDuplicates") == "FindDuplicates");  // additional binding
    CHECK(method_of("GET", "/v1/companies/x") == "GetCompany");
    CHECK(method_of("DELETE", "/v1/customFieldDefinitions/x") == "DeleteCustomFieldDefinition");

    auto [get, none] = table.Find("GET", "/v1/contacts/abc");
    REQUIRE(get);
    CHECK(get->bindings == Bindings{{"id", "abc"}});
    CHECK(get->route->grpc_path == "/crm.contacts.v1.ContactsService/GetContact");
    CHECK(get->route->package == "crm.contacts.v1");

    auto [patch, miss1] = table.Find("PATCH", "/v1/contacts/abc");
    REQUIRE(patch);
    CHECK(patch->bindings == Bindings{{"contact.id", "abc"}});
    CHECK(patch->route->body_field->name() == "contact");

    auto [put, miss2] = table.Find("PUT", "/v1/contacts/abc");
    CHECK_FALSE(put);
    CHECK(miss2 == HttpRouteTable::Miss::kWrongMethod);
    auto [nothing, miss3] = table.Find("GET", "/v2/contacts");
    CHECK_FALSE(nothing);
    CHECK(miss3 == HttpRouteTable::Miss::kNoRoute);
    CHECK(table.MethodsFor("/v1/contacts/abc") == std::vector<std::string>{"GET", "PATCH", "DELETE"});
}

namespace {

// A service in a pool of its own whose methods carry the given rules (or none).
struct TestService {
    pb::DescriptorPool pool{pb::DescriptorPool::generated_pool()};
    const pb::ServiceDescriptor* service = nullptr;

    explicit TestService(const std::vector<std::pair<std::string, std::optional<google::api::HttpRule>>>& methods) {
        pb::FileDescriptorProto file;
        file.set_name("test/rules_test.proto");
        file.set_package("crm.test.v1");
        file.set_syntax("proto3");
        file.add_dependency("google/api/annotations.proto");
        file.add_dependency("google/protobuf/field_mask.proto");
        auto* req = file.add_message_type();
        req->set_name("Req");
        auto add = [](pb::DescriptorProto* m, const char* name, int number, pb::FieldDescriptorProto::Type type,
                      const char* type_name = nullptr) {
            auto* f = m->add_field();
            f->set_name(name);
            f->set_number(number);
            f->set_type(type);
            f->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
            if (type_name != nullptr) f->set_type_name(type_name);
        };
        add(req, "id", 1, pb::FieldDescriptorProto::TYPE_STRING);
        add(req, "item", 2, pb::FieldDescriptorProto::TYPE_MESSAGE, ".crm.test.v1.Item");
        add(req, "count", 3, pb::FieldDescriptorProto::TYPE_INT32);
        auto* item = file.add_message_type();
        item->set_name("Item");
        add(item, "name", 1, pb::FieldDescriptorProto::TYPE_STRING);
        auto* svc = file.add_service();
        svc->set_name("TestService");
        for (const auto& [name, rule] : methods) {
            auto* m = svc->add_method();
            m->set_name(name);
            m->set_input_type(".crm.test.v1.Req");
            m->set_output_type(".crm.test.v1.Item");
            if (rule) *m->mutable_options()->MutableExtension(google::api::http) = *rule;
        }
        const auto* fd = pool.BuildFile(file);
        REQUIRE(fd != nullptr);
        service = fd->service(0);
    }

    std::vector<const pb::MethodDescriptor*> methods() const {
        std::vector<const pb::MethodDescriptor*> out;
        for (int i = 0; i < service->method_count(); ++i) out.push_back(service->method(i));
        return out;
    }
};

google::api::HttpRule Get(const std::string& path) {
    google::api::HttpRule r;
    r.set_get(path);
    return r;
}

}  // namespace

TEST_CASE("route table: bad annotations are all reported at once", "[http][rules]") {
    google::api::HttpRule scalar_body;
    scalar_body.set_post("/v1/items");
    scalar_body.set_body("count");
    google::api::HttpRule bad_response;
    bad_response.set_get("/v1/items/{id}/r");
    bad_response.set_response_body("nope");
    google::api::HttpRule no_pattern;
    TestService s({{"UnknownField", Get("/v1/items/{missing}")},
                   {"MessageVariable", Get("/v1/items/{item}")},
                   {"BadTemplate", Get("/v1/items/{id")},
                   {"ScalarBody", scalar_body},
                   {"BadResponse", bad_response},
                   {"NoPattern", no_pattern},
                   {"Twin1", Get("/v1/twins/{id}")},
                   {"Twin2", Get("/v1/twins/{item.name}")},
                   {"Unmapped", std::nullopt}});
    try {
        HttpRouteTable::FromMethods(s.methods());
        FAIL("no exception");
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        for (const char* name :
             {"UnknownField", "MessageVariable", "BadTemplate", "ScalarBody", "BadResponse", "NoPattern", "Twin2"}) {
            INFO(what);
            CHECK(what.find(std::string("crm.test.v1.TestService.") + name) != std::string::npos);
        }
        CHECK(what.find("Unmapped") == std::string::npos);
    }
}

TEST_CASE("route table: nested field variables and unmapped methods", "[http][rules]") {
    google::api::HttpRule patch;
    patch.set_patch("/v1/items/{item.name}");
    patch.set_body("item");
    TestService s({{"Update", patch}, {"Unmapped", std::nullopt}});
    const auto table = HttpRouteTable::FromMethods(s.methods());
    REQUIRE(table.routes().size() == 1);
    CHECK(table.unmapped() == std::vector<std::string>{"crm.test.v1.TestService/Unmapped"});
    REQUIRE(table.routes()[0].variable_fields[0].size() == 2);
    CHECK(table.routes()[0].variable_fields[0][1]->full_name() == "crm.test.v1.Item.name");
}
