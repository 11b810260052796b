#include "register.hpp"

#include <crm/common/v1/event.pb.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <chrono>

#include "crm/common/consumer.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/service.hpp"
#include "crm/common/subject_data.hpp"
#include "grpc_service.hpp"
#include "projection/consumer.hpp"
#include "projection/projector.hpp"
#include "subject_data/subject_data.hpp"

namespace crm::analytics {

namespace {

constexpr char kTopics[] = "CRM_ANALYTICS_TOPICS";
constexpr char kMaxAttempts[] = "CRM_ANALYTICS_CONSUMER_MAX_ATTEMPTS";
constexpr char kRebuildTimeout[] = "CRM_ANALYTICS_REBUILD_TIMEOUT_SECONDS";
constexpr char kOperatorTenants[] = "CRM_ANALYTICS_OPERATOR_TENANTS";
constexpr char kCacheMaxBytes[] = "CRM_ANALYTICS_CACHE_MAX_BYTES";

std::string Join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
}

}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    return {
        {kTopics, "topics the read models are built from (comma separated)", Join(projection::DefaultTopics())},
        {kMaxAttempts, "failed attempts of one event before it goes to <topic>.dlq (1..100)", "5"},
        {kRebuildTimeout, "longest a RebuildProjections call reads the log per pass, seconds (1..3600)", "120"},
        {kOperatorTenants,
         "tenants whose admins may rebuild every tenant's read models (REBUILD_SCOPE_ALL_TENANTS), comma separated: "
         "the platform operator's, never a customer's; empty: nobody",
         ""},
        {kCacheMaxBytes,
         "memory for tenants' folded facts kept between KPI reads, bytes (estimated; least recently used tenants "
         "dropped first); 0: no cache, every read loads its tenant's facts",
         "536870912"},
    };
}

void Register(common::ServiceApp& app) {
    const std::vector<std::string> topics = app.config().GetList(kTopics);
    if (topics.empty()) throw common::ConfigError(std::string(kTopics) + " must name at least one topic");
    const int max_attempts = static_cast<int>(app.config().GetInt(kMaxAttempts, 1, 100));
    const auto rebuild_timeout = std::chrono::seconds(app.config().GetInt(kRebuildTimeout, 1, 3600));

    common::ConsumerSettings settings = app.ConsumerDefaults();
    settings.topics = topics;
    settings.max_attempts = max_attempts;
    // Topics created after the start (a service deployed later) are noticed within seconds, not minutes.
    settings.kafka["topic.metadata.refresh.interval.ms"] = "5000";
    settings.commit_interval = std::chrono::milliseconds(500);

    app.AddSubjectHandlers(subject_data::Handlers());
    common::Db& db = app.db();
    app.AddConsumer(std::make_unique<common::EventConsumer>(settings, db, app.metrics(),
                                                            projection::MakeProjectionHandler(db, app.metrics())));

    rebuild::RebuildSettings rebuild_settings;
    rebuild_settings.brokers = settings.brokers;
    rebuild_settings.topics = topics;
    rebuild_settings.kafka = settings.kafka;
    rebuild_settings.kafka.erase("topic.metadata.refresh.interval.ms");
    rebuild_settings.timeout = rebuild_timeout;
    rebuild_settings.operator_tenants = app.config().GetList(kOperatorTenants);
    cache::CacheSettings cache_settings;
    cache_settings.max_bytes = static_cast<size_t>(app.config().GetInt(kCacheMaxBytes, 0, 1L << 40));
    auto service =
        std::make_shared<AnalyticsService>(app.rpc(), app.metrics(), db, std::move(rebuild_settings), cache_settings);
    // The first KPI read of a tenant after a start finds it folded when the warm-up got to it first. Started once the
    // server runs (after the migrations applied at start).
    app.OnStart([warm = service.get()] { warm->WarmCache(); });
    app.AddService(std::move(service));
}

}  // namespace crm::analytics
