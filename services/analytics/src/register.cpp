#include "register.hpp"

#include <crm/common/v1/event.pb.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <chrono>

#include "api/analytics_service.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/service.hpp"
#include "events/projector.hpp"
#include "events/proto_time.hpp"
#include "storage/repository.hpp"

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

// The consumer's own metrics, next to the runtime's crm_kafka_* families.
struct ProjectionMetrics {
    prometheus::Family<prometheus::Counter>& facts;
    prometheus::Family<prometheus::Histogram>& freshness;
    prometheus::Counter* records;
    prometheus::Counter* leads;
    prometheus::Counter* opportunities;
    prometheus::Histogram* event_to_applied;

    explicit ProjectionMetrics(common::Metrics& m)
        : facts(prometheus::BuildCounter()
                    .Name("crm_analytics_facts_applied_total")
                    .Help("Fact rows written into the read models by the live consumer, by projection.")
                    .Register(m.registry())),
          freshness(prometheus::BuildHistogram()
                        .Name("crm_analytics_event_freshness_seconds")
                        .Help("From an event's occurred_at (its commit in the producing service) to its facts "
                              "committed in the read models.")
                        .Register(m.registry())),
          records(&facts.Add({{"service", m.service()}, {"projection", "records"}})),
          leads(&facts.Add({{"service", m.service()}, {"projection", "leads"}})),
          opportunities(&facts.Add({{"service", m.service()}, {"projection", "opportunities"}})),
          event_to_applied(&freshness.Add({{"service", m.service()}},
                                          prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                                  0.5, 1, 2.5, 5, 10, 30, 60})) {}
};

}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    return {
        {kTopics, "topics the read models are built from (comma separated)", Join(events::DefaultTopics())},
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

    common::Db& db = app.db();
    auto metrics = std::make_shared<ProjectionMetrics>(app.metrics());
    app.AddConsumer(std::make_unique<common::EventConsumer>(
        settings, db, app.metrics(), [&db, metrics](pqxx::work& tx, const common::ConsumedEvent& ev) {
            if (!storage::TryConsumerLock(db, tx, ev.tenant_id())) {
                // A rebuild of this tenant holds the read models; the runtime retries without counting attempts.
                throw common::ApiError::Unavailable("a rebuild of this tenant's read models is running");
            }
            domain::Facts facts;
            try {
                facts = events::Project(ev.envelope);
            } catch (const events::UninterpretableEvent& e) {
                throw common::PermanentEventError(e.what());
            }
            storage::Apply(db, tx, ev.tenant_id(), facts);
            metrics->records->Increment(static_cast<double>(facts.records.size()));
            metrics->leads->Increment(static_cast<double>(facts.leads.size()));
            metrics->opportunities->Increment(static_cast<double>(facts.opportunities.size()));
            const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            metrics->event_to_applied->Observe(
                std::max<double>(0, static_cast<double>(now - events::OccurredAt(ev.envelope)) / 1e6));
        }));

    rebuild::RebuildSettings rebuild_settings;
    rebuild_settings.brokers = settings.brokers;
    rebuild_settings.topics = topics;
    rebuild_settings.kafka = settings.kafka;
    rebuild_settings.kafka.erase("topic.metadata.refresh.interval.ms");
    rebuild_settings.timeout = rebuild_timeout;
    rebuild_settings.operator_tenants = app.config().GetList(kOperatorTenants);
    cache::CacheSettings cache_settings;
    cache_settings.max_bytes = static_cast<size_t>(app.config().GetInt(kCacheMaxBytes, 0, 1L << 40));
    app.AddService(
        api::MakeAnalyticsService(app.rpc(), app.metrics(), db, std::move(rebuild_settings), cache_settings));
}

}  // namespace crm::analytics
