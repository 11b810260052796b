#pragma once
// Shared by the role-matrix tests: the policy JSON of the Kubernetes ConfigMap, a service's methods from its
// descriptor, and the check of one service's table (rows = RPCs, columns = kKnownRoles) against a policy.
#include <google/protobuf/descriptor.h>

#include <array>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "policy/policy.hpp"
#include "register.hpp"

namespace crm::gateway::testing {

using crm::gateway::kKnownRoles;
using crm::gateway::Policy;

inline std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The policy of the Kubernetes ConfigMap gateway-policy (kustomize's configMapGenerator reads this file; it is
// deploy/local/gateway-policy.json with production rate limits, made by tests/k8s/policy.py).
inline std::string K8sPolicyJson() { return ReadFile(std::string(CRM_SOURCE_DIR) + "/k8s/base/gateway-policy.json"); }

inline std::vector<std::string> MethodsOf(const google::protobuf::FileDescriptor* file, const char* name) {
    const auto* service = file->FindServiceByName(name);
    REQUIRE(service != nullptr);
    std::vector<std::string> out;
    for (int i = 0; i < service->method_count(); ++i) out.push_back(service->method(i)->name());
    return out;
}

// A table may have fewer columns than kKnownRoles (written before later roles were appended): the missing columns
// are roles that must be denied.
template <std::size_t N>
void CheckServiceMatrix(const Policy& policy, const char* service, const std::vector<std::string>& methods,
                        const std::map<std::string, std::array<int, N>>& matrix) {
    static_assert(N <= kKnownRoles.size());
    CHECK(methods.size() == matrix.size());  // the table has no rows for RPCs that do not exist
    for (const auto& method : methods) {
        INFO("method " << service << "/" << method);
        auto row = matrix.find(method);
        REQUIRE(row != matrix.end());  // every RPC has a row
        for (size_t r = 0; r < kKnownRoles.size(); ++r) {
            const std::string role(kKnownRoles[r]);
            INFO("role " << role);
            CHECK(policy.Allows(service, method, {role}) == (r < N && row->second[r] == 1));
        }
        CHECK_FALSE(policy.Allows(service, method, {}));                      // a token without roles
        CHECK_FALSE(policy.Allows(service, method, {"superuser", "Admin"}));  // roles the gateway does not know
        CHECK(policy.Allows(service, method, {"read_only", "admin"}));        // any granted role suffices
    }
}

}  // namespace crm::gateway::testing
