// Server reflection through the gateway, as a newcomer uses it: `grpcurl <gateway> list` names every routed service
// (contacts, leads, sales, analytics) besides the gateway's own ApiKeysService, `list <service>` every method of it,
// and `describe` their signatures, without proto files and without a credential. grpcurl comes from the stack's
// tools (deploy/local/stack env puts them on PATH); the expected methods come from the descriptors linked here.
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <crm/gateway/v1/api_keys.grpc.pb.h>
#include <crm/leads/v1/leads.grpc.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>
#include <google/protobuf/descriptor.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace crm::test;

namespace {

struct Output {
    int exit_code = -1;
    std::string text;  // stdout and stderr
};

// grpcurl against the gateway, plaintext as the local stack serves it. Arguments are service and method names only.
Output Grpcurl(const std::string& args) {
    const std::string command =
        "grpcurl -plaintext -connect-timeout 5 -max-time 20 " + RequireEnv("CRM_TEST_GATEWAY") + " " + args + " 2>&1";
    Output out;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.text.append(buf, n);
    const int status = pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

std::set<std::string> Lines(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) out.insert(line);
    }
    return out;
}

const std::vector<std::string>& RoutedServices() {
    static const std::vector<std::string> services = {
        crm::contacts::v1::ContactsService::service_full_name(), crm::leads::v1::LeadsService::service_full_name(),
        crm::sales::v1::SalesService::service_full_name(), crm::analytics::v1::AnalyticsService::service_full_name(),
        crm::gateway::v1::ApiKeysService::service_full_name()};
    return services;
}

const google::protobuf::ServiceDescriptor* Linked(const std::string& service) {
    const auto* sd = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    INFO(service << " is not linked into the test");
    REQUIRE(sd != nullptr);
    return sd;
}

}  // namespace

TEST_CASE("gateway reflection lists every routed service and its methods, without proto files or a token",
          "[integration][gateway][reflection]") {
    const Output which = [] {
        Output o;
        FILE* pipe = popen("command -v grpcurl", "r");
        REQUIRE(pipe != nullptr);
        char buf[512];
        for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) o.text.append(buf, n);
        o.exit_code = pclose(pipe);
        return o;
    }();
    INFO("grpcurl is not on PATH: eval \"$(deploy/local/stack env)\" puts the stack's tools there");
    REQUIRE(which.exit_code == 0);

    const Output list = Grpcurl("list");
    INFO(list.text);
    REQUIRE(list.exit_code == 0);
    const std::set<std::string> services = Lines(list.text);
    for (const auto& service : RoutedServices()) {
        CAPTURE(service);
        CHECK(services.count(service) == 1);
    }

    int methods = 0;
    for (const auto& service : RoutedServices()) {
        CAPTURE(service);
        const auto* sd = Linked(service);
        const Output listed = Grpcurl("list " + service);
        INFO(listed.text);
        REQUIRE(listed.exit_code == 0);
        const std::set<std::string> names = Lines(listed.text);
        const Output described = Grpcurl("describe " + service);
        INFO(described.text);
        REQUIRE(described.exit_code == 0);
        for (int m = 0; m < sd->method_count(); ++m) {
            const std::string method = sd->method(m)->name();
            CAPTURE(method);
            CHECK(names.count(service + "." + method) == 1);
            CHECK(described.text.find("rpc " + method + " (") != std::string::npos);
            ++methods;
        }
        CHECK(names.size() == static_cast<size_t>(sd->method_count()));
    }
    CHECK(methods > 50);

    // A method's messages are described too (grpcurl resolves the request type's file and its imports).
    const Output message = Grpcurl("describe crm.contacts.v1.CreateContactRequest");
    INFO(message.text);
    CHECK(message.exit_code == 0);
    CHECK(message.text.find("crm.contacts.v1.Contact contact") != std::string::npos);
}
