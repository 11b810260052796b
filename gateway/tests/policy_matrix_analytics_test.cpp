// The role matrix of the analytics service: both shipped policies (deploy/local/gateway-policy.json and the
// ConfigMap in k8s/base/gateway.yaml) against a table written out here, for every role and every RPC of
// crm.analytics.v1.AnalyticsService (enumerated from its descriptor, so a new RPC fails this test until the table
// says who may call it). Who reads KPIs: analysts, sales managers and admins; RebuildProjections: admins only.
#include <crm/analytics/v1/analytics.pb.h>

#include <array>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "gateway.hpp"
#include "policy.hpp"

using crm::gateway::kKnownRoles;
using crm::gateway::LinkedDescriptors;
using crm::gateway::Policy;

namespace {

constexpr char kService[] = "crm.analytics.v1.AnalyticsService";

// Columns in the order of kKnownRoles.
// clang-format off
//                                                admin mgr  rep  mkt  sup  tech anl  ro   wf
const std::map<std::string, std::array<int, 9>> kAnalyticsMatrix = {
    {"GetKpis",                     /* read */   {1,    1,   0,   0,   0,   0,   1,   0,   0}},
    {"GetTimeSeries",               /* read */   {1,    1,   0,   0,   0,   0,   1,   0,   0}},
    {"RebuildProjections",          /* admin */  {1,    0,   0,   0,   0,   0,   0,   0,   0}},
};
// clang-format on

std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string K8sPolicyJson() {
    std::istringstream in(ReadFile(std::string(CRM_SOURCE_DIR) + "/k8s/base/gateway.yaml"));
    std::string line;
    std::string json;
    bool inside = false;
    while (std::getline(in, line)) {
        if (!inside) {
            inside = line == "  policy.json: |";
            continue;
        }
        if (!line.empty() && line.rfind("    ", 0) != 0) break;
        json += (line.empty() ? "" : line.substr(4)) + "\n";
    }
    REQUIRE(!json.empty());
    return json;
}

void CheckMatrix(const Policy& policy) {
    const auto* service =
        crm::analytics::v1::GetKpisRequest::descriptor()->file()->FindServiceByName("AnalyticsService");
    REQUIRE(service != nullptr);
    CHECK(static_cast<size_t>(service->method_count()) == kAnalyticsMatrix.size());
    for (int i = 0; i < service->method_count(); ++i) {
        const std::string method(service->method(i)->name());
        INFO("method " << method);
        auto row = kAnalyticsMatrix.find(method);
        REQUIRE(row != kAnalyticsMatrix.end());
        for (size_t r = 0; r < kKnownRoles.size(); ++r) {
            const std::string role(kKnownRoles[r]);
            INFO("role " << role);
            CHECK(policy.Allows(kService, method, {role}) == (row->second[r] == 1));
        }
        CHECK_FALSE(policy.Allows(kService, method, {}));
    }
}

}  // namespace

TEST_CASE("analytics role matrix: the local policy file grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
}

TEST_CASE("analytics role matrix: the Kubernetes ConfigMap grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}

TEST_CASE("analytics role matrix: the linked descriptors catch a misspelt analytics method") {
    const LinkedDescriptors catalog;
    CHECK_THROWS_WITH(
        Policy::Parse(R"({"rules": [{"roles": ["analyst"], "methods": ["crm.analytics.v1.AnalyticsService/GetKpi"]}]})",
                      &catalog),
        Catch::Contains("crm.analytics.v1.AnalyticsService has no method \"GetKpi\""));
}
