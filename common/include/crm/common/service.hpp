#pragma once
// Service bootstrap shared by every process of the suite. main() is a few lines:
//
//   int main(int argc, char** argv) {
//       return crm::common::RunService({.name = "contacts", .grpc_port = 50051, .metrics_port = 9151}, argc, argv,
//                                      [](crm::common::ServiceApp& app) { crm::contacts::Register(app); });
//   }
//
// It reads and validates configuration from the environment (--help lists it), sets up JSON logs, metrics
// (/metrics), migrations (--migrate-only runs only them), the PostgreSQL pool, the outbox relay, the gRPC server with
// health checking and reflection, and on SIGTERM/SIGINT: reports NOT_SERVING, stops accepting calls, drains the
// calls in flight (bounded), stops the event consumers (message in hand finished, offsets committed), stops the relay
// after its last batch is acknowledged, and exits 0.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crm/common/config.hpp"

namespace grpc {
class Service;
class ServerBuilder;
}  // namespace grpc

namespace crm::common {

namespace privacy {
class SubjectKeySource;
}
struct TlsFiles;
class Db;
class EventConsumer;
class Metrics;
class Outbox;
class RpcRuntime;
struct RetentionRule;
struct SubjectHandler;

struct ConsumerSettings;

struct ServiceOptions {
    std::string name;       // "contacts"
    int grpc_port = 50051;  // default listen port (CRM_GRPC_LISTEN overrides)
    int metrics_port = 9151;
    bool uses_database = true;
    bool uses_kafka = true;  // an outbox relay publishes this service's events
    // crm.audit.v1.AuditService over the service's own audit trail (audit_api.hpp), with uses_database; the gateway
    // serves the suite's instead.
    bool serves_audit_trail = true;
    // crm.privacy.v1.RetentionService over the kit's retention rules and the service's own (AddRetentionRules), with
    // its scheduled job (retention.hpp); with uses_database. The gateway serves the suite's instead.
    bool serves_retention = true;
    std::vector<EnvVar> extra_vars;  // service-specific settings, read with app.config()
    std::string summary;             // one line for --help
};

class ServiceApp {
  public:
    ServiceApp(ServiceOptions options, Config config);
    ~ServiceApp();

    const ServiceOptions& options() const { return options_; }
    const Config& config() const { return config_; }
    Metrics& metrics();
    RpcRuntime& rpc();
    Db& db();          // only with uses_database
    Outbox& outbox();  // topic "crm.<name>.v1"; only with uses_database

    // Registers a gRPC service implementation; the app keeps it alive.
    void AddService(std::shared_ptr<grpc::Service> service);
    // Extra builder configuration (e.g. a generic service in the gateway).
    void ConfigureBuilder(std::function<void(grpc::ServerBuilder&)> fn);
    // Runs at shutdown, after the server stopped accepting calls, in reverse order of registration.
    void OnShutdown(std::function<void()> fn);
    // Background work that starts once the server is up (schedulers); stopped through OnShutdown.
    void OnStart(std::function<void()> fn);
    // Event consumers (consumer.hpp): started once the server is up, stopped on SIGTERM after the calls in flight
    // drained and before the shutdown hooks and the outbox relay. ConsumerDefaults() has the brokers of
    // CRM_KAFKA_BROKERS and the group "crm-<name>"; the caller adds topics and tuning.
    ConsumerSettings ConsumerDefaults() const;
    EventConsumer& AddConsumer(std::unique_ptr<EventConsumer> consumer);
    // Where this service's consumers get other services' subject keys to open the personal fields of their events
    // (personal_fields.hpp): producing service ("contacts") -> its gRPC address; set it as ConsumerSettings::keys.
    std::shared_ptr<privacy::SubjectKeySource> SubjectKeys(std::map<std::string, std::string> addresses,
                                                           const TlsFiles& tls) const;
    // The service's retention rules (retention.hpp), beside the kit's own; before Run.
    void AddRetentionRules(std::vector<RetentionRule> rules);
    // How the service finds, exports and erases a person's records (subject_data.hpp); before Run. A service with
    // handlers serves crm.privacy.v1.SubjectDataService to the gateway's data-subject requests; one without does not
    // (and the suite's requests cannot complete: every service with personal data takes part).
    void AddSubjectHandlers(std::vector<SubjectHandler> handlers);

    // Seals a table's personal columns written before encryption at rest (sealed_columns.hpp) and fills their blind
    // indexes; returns the rows it sealed. Runs after the migrations and before the service answers (lookups by blind
    // index must see every row), then hourly (rows an older replica wrote during a rolling upgrade). Before Run.
    void AddColumnBackfill(std::string table, std::function<std::int64_t(Db&)> backfill);

    int Run();          // serves until SIGTERM/SIGINT; returns the exit code
    int MigrateOnly();  // applies migrations and returns

  private:
    struct Impl;
    ServiceOptions options_;
    Config config_;
    std::unique_ptr<Impl> impl_;
};

// Parses argv (--help, --migrate-only), loads configuration (exit 2 with every problem listed), builds the app,
// calls register_fn, and runs it. Blocks SIGTERM/SIGINT before any thread starts.
int RunService(ServiceOptions options, int argc, char** argv, const std::function<void(ServiceApp&)>& register_fn);

// The variables every service reads (exposed for --help tests and for the gateway).
std::vector<EnvVar> StandardVars(const ServiceOptions& options);

}  // namespace crm::common
