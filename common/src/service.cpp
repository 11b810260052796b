#include "crm/common/service.hpp"

#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <condition_variable>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>

#include "crm/common/audit.hpp"
#include "crm/common/audit_api.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/db.hpp"
#include "crm/common/failpoint.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/migrate.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/personal_fields.hpp"
#include "crm/common/retention.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/scheduler.hpp"
#include "crm/common/subject_data.hpp"
#include "crm/common/tls.hpp"
#include "current_call.hpp"
#include "subject_keys.hpp"

namespace crm::common {

std::vector<EnvVar> StandardVars(const ServiceOptions& o) {
    std::vector<EnvVar> vars{
        {"CRM_GRPC_LISTEN", "host:port the gRPC server listens on", "127.0.0.1:" + std::to_string(o.grpc_port)},
        {"CRM_METRICS_LISTEN", "host:port serving Prometheus /metrics", "127.0.0.1:" + std::to_string(o.metrics_port)},
        {"CRM_LOG_LEVEL", "debug, info, warn or error", "info"},
        {"CRM_INTERNAL_KEY", "key shared with the gateway that signs caller identity (at least 32 characters)", "",
         true, true},
        {"CRM_GRPC_MAX_MESSAGE_BYTES", "largest request message accepted", "4194304"},
        {"CRM_GRPC_MAX_METADATA_BYTES", "largest request metadata (headers) accepted, in bytes (1024..1048576)",
         "16384"},
        {"CRM_TLS_CERT_FILE", "PEM certificate chain: serve TLS instead of plaintext (with CRM_TLS_KEY_FILE)", ""},
        {"CRM_TLS_KEY_FILE", "PEM private key of CRM_TLS_CERT_FILE", ""},
        {"CRM_TLS_CLIENT_CA_FILE", "PEM CA: require client certificates signed by it (mutual TLS)", ""},
        {"CRM_SHUTDOWN_GRACE_SECONDS", "how long SIGTERM waits for calls in flight", "10"},
        {"CRM_FAILPOINTS",
         "tests only: failure points to arm, e.g. 'leads.convert.after_contacts=crash' (see failpoint.hpp); "
         "never set in production",
         ""},
    };
    if (o.uses_database) {
        vars.push_back(
            {"CRM_DB_URL", "PostgreSQL URL of the service's application role (not the owner)", "", true, true});
        vars.push_back({"CRM_DB_ADMIN_URL",
                        "PostgreSQL URL of the owner role that applies migrations "
                        "(default: CRM_DB_URL)",
                        "", false, true});
        vars.push_back({"CRM_DB_POOL_SIZE", "database connections in the pool", "8"});
        vars.push_back({"CRM_MIGRATIONS_DIR", "folder with the service's NNNN_name.sql migrations",
                        "/usr/share/crm/" + o.name + "/migrations"});
        vars.push_back({"CRM_IDEMPOTENCY_RETENTION_HOURS",
                        "how long a create's request_id is remembered for retries (hours, 1..87600)", "168"});
        vars.push_back({"CRM_RETENTION_EVERY_SECONDS",
                        "how often each tenant's enabled retention policies are applied (seconds, 60..2592000)",
                        "86400"});
        vars.push_back({"CRM_MIGRATE_ON_START",
                        "apply migrations at start-up (false when a Kubernetes Job runs "
                        "--migrate-only)",
                        "true"});
    }
    if (o.uses_kafka) {
        vars.push_back({"CRM_KAFKA_BROKERS", "Kafka bootstrap servers", "127.0.0.1:9092"});
        vars.push_back({"CRM_OUTBOX_BATCH", "events the relay publishes per batch", "500"});
        if (o.uses_database) {
            vars.push_back({"CRM_PRIVACY_KEYS",
                            "master keys that wrap the data keys sealing personal fields of events, "
                            "'v1:<base64url 32 bytes>[,v2:...]' (highest version wraps new keys; see docs/privacy.md); "
                            "empty: one version derived from CRM_INTERNAL_KEY",
                            "", false, true});
        }
        vars.push_back({"CRM_KAFKA_GROUP_ID",
                        "Kafka consumer group of the service's event consumers (every replica in the same one; another "
                        "group reads every partition again, e.g. a smoke test's own)",
                        "crm-" + o.name});
        vars.push_back(
            {"CRM_KAFKA_MESSAGE_TIMEOUT_MS", "how long the relay waits for Kafka before it retries", "10000"});
    }
    for (const auto& v : o.extra_vars) vars.push_back(v);
    return vars;
}

struct ServiceApp::Impl {
    Metrics metrics;
    RpcRuntime rpc;
    std::unique_ptr<Db> db;
    std::unique_ptr<Outbox> outbox;
    std::unique_ptr<OutboxRelay> relay;
    std::vector<std::unique_ptr<EventConsumer>> consumers;
    std::vector<std::shared_ptr<grpc::Service>> services;
    std::vector<std::function<void(grpc::ServerBuilder&)>> builder_hooks;
    std::vector<std::function<void()>> start_hooks;
    std::vector<std::function<void()>> shutdown_hooks;
    std::vector<RetentionRule> retention_rules;  // the service's own (AddRetentionRules)
    std::unique_ptr<Retention> retention;
    std::vector<SubjectHandler> subject_handlers;                                     // AddSubjectHandlers
    std::vector<std::pair<std::string, std::function<std::int64_t(Db&)>>> backfills;  // AddColumnBackfill
    std::unique_ptr<SubjectData> subject_data;
    // Hourly upkeep of the kit's own tables (idempotency claims past their retention) and the retention policies.
    std::unique_ptr<Scheduler> maintenance;

    void Maintain(std::chrono::hours retention) {
        try {
            const std::int64_t removed = PurgeIdempotencyKeys(*db, retention);
            if (removed > 0) log::Info("idempotency keys purged", {{"rows_removed", std::to_string(removed)}});
        } catch (const std::exception& e) {
            log::Warn("idempotency key purge failed; retrying in an hour", {{"error", e.what()}});
        }
        try {
            const std::int64_t rewrapped = RewrapSubjectKeys(*db);
            if (rewrapped > 0) log::Info("subject keys rewrapped", {{"keys", std::to_string(rewrapped)}});
        } catch (const std::exception& e) {
            log::Warn("subject key rewrap failed; retrying in an hour", {{"error", e.what()}});
        }
        Backfill(false);
    }
    // Throws only at start-up (serving with rows whose blind index is missing would miss them in lookups).
    void Backfill(bool at_start) {
        for (const auto& [table, backfill] : backfills) {
            try {
                const std::int64_t sealed = backfill(*db);
                if (sealed > 0)
                    log::Info("personal columns sealed", {{"table", table}, {"rows", std::to_string(sealed)}});
            } catch (const std::exception& e) {
                if (at_start) throw;
                log::Warn("sealing personal columns failed; retrying in an hour",
                          {{"table", table}, {"error", e.what()}});
            }
        }
    }
    void StopMaintenance() {
        if (maintenance) maintenance->Stop();
    }

    Impl(const ServiceOptions& o, const Config& c)
        : metrics(o.name), rpc(RpcSettings{o.name, c.Get("CRM_INTERNAL_KEY")}, metrics) {}
    ~Impl() { StopMaintenance(); }
};

ServiceApp::ServiceApp(ServiceOptions options, Config config)
    : options_(std::move(options)), config_(std::move(config)), impl_(std::make_unique<Impl>(options_, config_)) {
    if (options_.uses_database) {
        DbSettings db;
        db.url = config_.Get("CRM_DB_URL");
        db.pool_size = static_cast<int>(config_.GetInt("CRM_DB_POOL_SIZE", 1, 256));
        impl_->db = std::make_unique<Db>(db, impl_->metrics);
        impl_->outbox = std::make_unique<Outbox>(*impl_->db, options_.name, "crm." + options_.name + ".v1");
    }
}

ServiceApp::~ServiceApp() = default;

Metrics& ServiceApp::metrics() { return impl_->metrics; }
RpcRuntime& ServiceApp::rpc() { return impl_->rpc; }
Db& ServiceApp::db() {
    if (!impl_->db) throw std::logic_error("service declared uses_database = false");
    return *impl_->db;
}
void ServiceApp::AddRetentionRules(std::vector<RetentionRule> rules) {
    for (auto& r : rules) impl_->retention_rules.push_back(std::move(r));
}
void ServiceApp::AddColumnBackfill(std::string table, std::function<std::int64_t(Db&)> backfill) {
    if (!options_.uses_database) throw std::logic_error("column backfills need uses_database");
    impl_->backfills.emplace_back(std::move(table), std::move(backfill));
}
void ServiceApp::AddSubjectHandlers(std::vector<SubjectHandler> handlers) {
    if (!options_.uses_database) throw std::logic_error("subject handlers need uses_database");
    for (auto& h : handlers) impl_->subject_handlers.push_back(std::move(h));
}
Outbox& ServiceApp::outbox() {
    if (!impl_->outbox) throw std::logic_error("service declared uses_database = false");
    return *impl_->outbox;
}
void ServiceApp::AddService(std::shared_ptr<grpc::Service> service) { impl_->services.push_back(std::move(service)); }
void ServiceApp::ConfigureBuilder(std::function<void(grpc::ServerBuilder&)> fn) {
    impl_->builder_hooks.push_back(std::move(fn));
}
void ServiceApp::OnShutdown(std::function<void()> fn) { impl_->shutdown_hooks.push_back(std::move(fn)); }
void ServiceApp::OnStart(std::function<void()> fn) { impl_->start_hooks.push_back(std::move(fn)); }

std::shared_ptr<privacy::SubjectKeySource> ServiceApp::SubjectKeys(std::map<std::string, std::string> addresses,
                                                                   const TlsFiles& tls) const {
    privacy::RemoteKeySettings s;
    s.addresses = std::move(addresses);
    s.tls = tls;
    s.internal_key = config_.Get("CRM_INTERNAL_KEY");
    s.caller_service = options_.name;
    return privacy::MakeRemoteKeySource(std::move(s));
}

ConsumerSettings ServiceApp::ConsumerDefaults() const {
    if (!options_.uses_kafka) throw std::logic_error("service declared uses_kafka = false");
    ConsumerSettings s;
    s.brokers = config_.Get("CRM_KAFKA_BROKERS");
    s.group_id = config_.Get("CRM_KAFKA_GROUP_ID");
    // The consumer's name keys its applied events (crm_processed_events): the same whatever the group, so another
    // group id never applies an event twice.
    s.name = "crm-" + options_.name;
    return s;
}

EventConsumer& ServiceApp::AddConsumer(std::unique_ptr<EventConsumer> consumer) {
    impl_->consumers.push_back(std::move(consumer));
    return *impl_->consumers.back();
}

int ServiceApp::MigrateOnly() {
    MigrationSettings m;
    m.admin_url = config_.Get("CRM_DB_ADMIN_URL").empty() ? config_.Get("CRM_DB_URL") : config_.Get("CRM_DB_ADMIN_URL");
    m.app_url = config_.Get("CRM_DB_URL");
    m.dir = config_.Get("CRM_MIGRATIONS_DIR");
    auto applied = RunMigrations(m);
    log::Info("migrations up to date", {{"applied_now", std::to_string(applied.size())}});
    return 0;
}

int ServiceApp::Run() {
    if (options_.uses_database && config_.GetBool("CRM_MIGRATE_ON_START")) MigrateOnly();
    try {
        impl_->Backfill(true);
    } catch (const std::exception& e) {
        log::Error("cannot seal the personal columns written before encryption at rest", {{"error", e.what()}});
        return 1;
    }

    impl_->metrics.Expose(config_.Get("CRM_METRICS_LISTEN"));

    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int bound_port = 0;
    const TlsFiles tls{config_.Get("CRM_TLS_CERT_FILE"), config_.Get("CRM_TLS_KEY_FILE"),
                       config_.Get("CRM_TLS_CLIENT_CA_FILE")};
    std::shared_ptr<grpc::ServerCredentials> credentials;
    try {
        credentials = MakeServerCredentials(tls);
    } catch (const std::exception& e) {
        log::Error("invalid TLS configuration (CRM_TLS_*)", {{"error", e.what()}});
        return 2;
    }
    builder.AddListeningPort(config_.Get("CRM_GRPC_LISTEN"), credentials, &bound_port);
    builder.SetMaxReceiveMessageSize(static_cast<int>(config_.GetInt("CRM_GRPC_MAX_MESSAGE_BYTES", 1024, 64 << 20)));
    builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                               static_cast<int>(config_.GetInt("CRM_GRPC_MAX_METADATA_BYTES", 1024, 1 << 20)));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
    // Every service with a database keeps an audit trail (audit.hpp) and serves it (audit_api.hpp).
    if (options_.uses_database && options_.serves_audit_trail) {
        impl_->services.push_back(MakeAuditService(options_.name, *impl_->db, impl_->rpc));
        // Refused write calls are in the trail too, with their refusal as outcome (no resource: nothing changed).
        detail::SetRefusalRecorder([db = impl_->db.get()](const RequestContext& rc, const std::string& outcome) {
            db->InTenant(rc.tenant_id,
                         [&](pqxx::work& tx) { AppendAudit(tx, rc, {.rpc = rc.rpc, .outcome = outcome}); });
        });
    }
    if (options_.uses_database && options_.serves_retention) {
        std::vector<RetentionRule> rules = KitRetentionRules();
        for (auto& r : impl_->retention_rules) rules.push_back(std::move(r));
        impl_->retention = std::make_unique<Retention>(options_.name, *impl_->db, *impl_->outbox, std::move(rules));
        impl_->services.push_back(impl_->retention->MakeService(impl_->rpc));
    }
    // Other services' consumers open this service's sealed event fields with its subject keys (personal_fields.hpp).
    if (options_.uses_database && options_.uses_kafka) {
        impl_->services.push_back(MakeSubjectKeyService(*impl_->db, impl_->rpc));
    }
    if (!impl_->subject_handlers.empty()) {
        impl_->subject_data = std::make_unique<SubjectData>(options_.name, *impl_->db, *impl_->outbox,
                                                            std::move(impl_->subject_handlers));
        impl_->services.push_back(impl_->subject_data->MakeService(impl_->rpc));
    }
    for (auto& s : impl_->services) builder.RegisterService(s.get());
    // RpcRuntime binds the signed identity to the method called, which only an interceptor sees in this gRPC version.
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(MakeCalledMethodRecorder());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    for (auto& hook : impl_->builder_hooks) hook(builder);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || bound_port == 0) {
        log::Error("cannot listen", {{"address", config_.Get("CRM_GRPC_LISTEN")}});
        return 1;
    }
    auto* health = server->GetHealthCheckService();
    health->SetServingStatus(true);

    if (options_.uses_database && options_.uses_kafka) {
        RelaySettings rs;
        rs.db_url = config_.Get("CRM_DB_URL");
        rs.brokers = config_.Get("CRM_KAFKA_BROKERS");
        rs.batch_size = static_cast<int>(config_.GetInt("CRM_OUTBOX_BATCH", 1, 10000));
        rs.message_timeout = std::chrono::milliseconds(config_.GetInt("CRM_KAFKA_MESSAGE_TIMEOUT_MS", 1000, 600000));
        impl_->relay = std::make_unique<OutboxRelay>(rs, impl_->metrics);
        impl_->relay->Start();
    }
    for (auto& consumer : impl_->consumers) consumer->Start();
    if (options_.uses_database) {
        const auto retention = std::chrono::hours(config_.GetInt("CRM_IDEMPOTENCY_RETENTION_HOURS", 1, 87600));
        std::vector<ScheduledJob> jobs{
            {"idempotency_purge", std::chrono::hours(1), [this, retention] { impl_->Maintain(retention); }}};
        if (impl_->retention) {
            const auto every = std::chrono::seconds(config_.GetInt("CRM_RETENTION_EVERY_SECONDS", 60, 2592000));
            // Looks for due policies every minute at most; each policy runs once per `every` across replicas.
            jobs.push_back(
                {"retention", std::min<std::chrono::milliseconds>(every, std::chrono::minutes(10)), [this, every] {
                     try {
                         impl_->retention->RunDue(every);
                     } catch (const std::exception& e) {
                         log::Warn("retention pass failed; retried at the next turn", {{"error", e.what()}});
                     }
                 }});
        }
        impl_->maintenance = std::make_unique<Scheduler>("kit upkeep", std::move(jobs));
        impl_->maintenance->Start();
    }
    for (auto& hook : impl_->start_hooks) hook();
    log::Info("serving", {{"grpc", config_.Get("CRM_GRPC_LISTEN")},
                          {"tls", tls.empty() ? "off" : (tls.ca_file.empty() ? "on" : "mutual")},
                          {"metrics", config_.Get("CRM_METRICS_LISTEN")}});

    // SIGTERM/SIGINT were blocked in every thread by RunService; wait for one here.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    int received = 0;
    sigwait(&signals, &received);
    log::Info("shutting down", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});

    health->SetServingStatus(false);
    const auto grace = std::chrono::seconds(config_.GetInt("CRM_SHUTDOWN_GRACE_SECONDS", 0, 600));
    server->Shutdown(std::chrono::system_clock::now() + grace);  // stop accepting, drain, then cancel the rest
    server->Wait();
    for (auto& consumer : impl_->consumers) consumer->Stop();
    impl_->StopMaintenance();
    for (auto it = impl_->shutdown_hooks.rbegin(); it != impl_->shutdown_hooks.rend(); ++it) (*it)();
    if (impl_->relay) impl_->relay->Stop();
    log::Info("stopped");
    return 0;
}

int RunService(ServiceOptions options, int argc, char** argv, const std::function<void(ServiceApp&)>& register_fn) {
    // Block the termination signals before any thread exists, so that only ServiceApp::Run's sigwait sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock detector on: every lock and unlock
    // inside gRPC then updates a global lock graph (3-4% of the gateway's CPU under load, measured with perf). The
    // detector is a debugging aid; production binaries turn it off before any thread exists.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

    bool migrate_only = false;
    Config config("crm-" + options.name, options.summary.empty() ? "CRM " + options.name + " service" : options.summary,
                  StandardVars(options));
    config.SetMigrateFlag(options.uses_database);
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::cout << config.Help();
            return 0;
        }
        if (std::strcmp(argv[i], "--migrate-only") == 0 && options.uses_database) {
            migrate_only = true;
        } else {
            std::cerr << "unknown argument: " << argv[i] << " (see --help)\n";
            return 2;
        }
    }
    try {
        config.Load();
        config.Require(config.Get("CRM_INTERNAL_KEY").size() >= 32, "CRM_INTERNAL_KEY",
                       "must be at least 32 characters");
        log::Init(options.name, log::ParseLevel(config.Get("CRM_LOG_LEVEL")));
        try {
            ConfigureFailpoints(config.Get("CRM_FAILPOINTS"));
        } catch (const std::invalid_argument& e) {
            config.Require(false, "CRM_FAILPOINTS", e.what());
        }
        if (options.uses_database && options.uses_kafka) {
            try {
                privacy::SetProcessKeyring(
                    privacy::KeyringFromSettings(config.Get("CRM_PRIVACY_KEYS"), config.Get("CRM_INTERNAL_KEY")));
            } catch (const std::exception& e) {
                config.Require(false, "CRM_PRIVACY_KEYS", e.what());
            }
        }
        config.Check();
        SetPageTokenKey(config.Get("CRM_INTERNAL_KEY"));
    } catch (const std::exception& e) {
        std::cerr << "crm-" << options.name << ": " << e.what() << "\n(see --help)\n";
        return 2;
    }
    try {
        ServiceApp app(options, config);
        if (migrate_only) return app.MigrateOnly();
        register_fn(app);
        return app.Run();
    } catch (const ConfigError& e) {
        std::cerr << "crm-" << options.name << ": " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        log::Error("fatal", {{"error", e.what()}});
        return 1;
    }
}

}  // namespace crm::common
