// Wiring of the marketing service: its settings (the only code here that reads configuration), the application code of
// every area and the gRPC service.
#include "register.hpp"

#include <prometheus/counter.h>

#include "audience/audience.hpp"
#include "campaigns/campaigns.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/service.hpp"
#include "grpc_service.hpp"
#include "segments/segments.hpp"

namespace crm::marketing {
namespace {

constexpr char kPublicBaseUrl[] = "CRM_MARKETING_PUBLIC_BASE_URL";
constexpr char kAudienceTopics[] = "CRM_MARKETING_AUDIENCE_TOPICS";
constexpr char kMaxAttempts[] = "CRM_MARKETING_CONSUMER_MAX_ATTEMPTS";

}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    return {
        {kPublicBaseUrl,
         "public base URL of the gateway's HTTP side that serves tracked links (<base>/r/<token>) and unsubscribe "
         "links, without a trailing slash",
         "http://127.0.0.1:8080"},
        {kAudienceTopics, "topics the audience read model is built from (comma separated)",
         "crm.contacts.v1,crm.leads.v1"},
        {kMaxAttempts, "failed attempts of one event before it goes to <topic>.dlq (1..100)", "5"},
    };
}

void Register(common::ServiceApp& app) {
    const auto& config = app.config();
    campaigns::Settings campaign_settings{.internal_key = config.Get("CRM_INTERNAL_KEY"),
                                          .public_base_url = config.Get(kPublicBaseUrl)};
    const std::string& base = campaign_settings.public_base_url;
    if ((base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) || base.back() == '/') {
        throw common::ConfigError(std::string(kPublicBaseUrl) +
                                  " must be an http:// or https:// URL without a trailing slash");
    }

    Areas areas;
    areas.campaigns = std::make_shared<campaigns::Campaigns>(app.db(), app.outbox(), campaign_settings);
    areas.audience = std::make_shared<audience::Audience>(app.db());
    areas.segments = std::make_shared<segments::Segments>(app.db(), app.outbox());

    // The audience read model and, in the same transaction, the memberships the event changed.
    common::ConsumerSettings consumer = app.ConsumerDefaults();
    consumer.topics = config.GetList(kAudienceTopics);
    if (consumer.topics.empty()) throw common::ConfigError(std::string(kAudienceTopics) + " must name a topic");
    consumer.max_attempts = static_cast<int>(config.GetInt(kMaxAttempts, 1, 100));
    consumer.kafka["topic.metadata.refresh.interval.ms"] = "5000";
    consumer.commit_interval = std::chrono::milliseconds(500);
    auto applied = &prometheus::BuildCounter()
                        .Name("crm_marketing_audience_changes_total")
                        .Help(
                            "People whose audience record changed from a consumed event (merges and erasures "
                            "included).")
                        .Register(app.metrics().registry())
                        .Add({});
    common::Db& db = app.db();
    auto segments = areas.segments;
    app.AddConsumer(std::make_unique<common::EventConsumer>(
        consumer, db, app.metrics(), [&db, segments, applied](pqxx::work& tx, const common::ConsumedEvent& ev) {
            const audience::Changes changes = audience::Apply(db, tx, ev);
            if (changes.empty()) return;
            segments->Apply(tx, ev.tenant_id(), changes);
            applied->Increment(
                static_cast<double>(changes.refreshed.size() + changes.merged.size() + changes.erased.size()));
        }));
    app.AddService(std::make_shared<MarketingService>(app.rpc(), app.metrics(), std::move(areas)));
}

}  // namespace crm::marketing
