#pragma once
// The environment of a second instance of a service that a test starts itself (ChildProcess): its own ports, the
// stack's database, Kafka and keys, the service's migrations from the source tree (the test binary defines
// CRM_SOURCE_DIR). Tests add the service's own settings (e.g. to keep it from consuming).
#include <cctype>
#include <map>
#include <string>

#include "harness.hpp"

namespace crm::test {

inline std::map<std::string, std::string> ChildServiceEnv(const std::string& service, int grpc_port, int metrics_port) {
    std::string upper = service;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return {
        {"CRM_GRPC_LISTEN", "127.0.0.1:" + std::to_string(grpc_port)},
        {"CRM_METRICS_LISTEN", "127.0.0.1:" + std::to_string(metrics_port)},
        {"CRM_DB_URL", RequireEnv(("CRM_" + upper + "_DB_URL").c_str())},
        {"CRM_DB_ADMIN_URL", RequireEnv(("CRM_" + upper + "_DB_ADMIN_URL").c_str())},
        {"CRM_KAFKA_BROKERS", RequireEnv("CRM_TEST_KAFKA")},
        {"CRM_INTERNAL_KEY", RequireEnv("CRM_INTERNAL_KEY")},
        {"CRM_MIGRATIONS_DIR", std::string(CRM_SOURCE_DIR) + "/services/" + service + "/migrations"},
        {"CRM_SHUTDOWN_GRACE_SECONDS", "5"},
        {"CRM_LOG_LEVEL", "info"},
    };
}

}  // namespace crm::test
