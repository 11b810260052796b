// Wiring of the marketing service: its settings (the only code here that reads configuration), the application code of
// every area and the gRPC service.
#include "register.hpp"

#include <crm/marketing/events/v1/events.pb.h>
#include <prometheus/counter.h>

#include "attribution/attribution.hpp"
#include "audience/audience.hpp"
#include "audience/sealed.hpp"
#include "campaigns/campaigns.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/service.hpp"
#include "crm/common/subject_data.hpp"
#include "crm/common/tls.hpp"
#include "email/email.hpp"
#include "email/sender.hpp"
#include "email/suppressions.hpp"
#include "engagement/engagement.hpp"
#include "grpc_service.hpp"
#include "records.hpp"
#include "segments/segments.hpp"
#include "sequences/runner.hpp"
#include "sequences/sequences.hpp"
#include "subject_data/subject_data.hpp"
#include "tracking/tracking.hpp"

namespace crm::marketing {
namespace {

constexpr char kPublicBaseUrl[] = "CRM_MARKETING_PUBLIC_BASE_URL";
constexpr char kAudienceTopics[] = "CRM_MARKETING_AUDIENCE_TOPICS";
constexpr char kMaxAttempts[] = "CRM_MARKETING_CONSUMER_MAX_ATTEMPTS";
constexpr char kSmtpUrl[] = "CRM_MARKETING_SMTP_URL";
constexpr char kSmtpUser[] = "CRM_MARKETING_SMTP_USERNAME";
constexpr char kSmtpPassword[] = "CRM_MARKETING_SMTP_PASSWORD";
constexpr char kSmtpTls[] = "CRM_MARKETING_SMTP_REQUIRE_TLS";
constexpr char kDefaultFrom[] = "CRM_MARKETING_DEFAULT_FROM";
constexpr char kSendInterval[] = "CRM_MARKETING_SEND_INTERVAL_MS";
constexpr char kSendAttempts[] = "CRM_MARKETING_SEND_MAX_ATTEMPTS";
constexpr char kSendBackoff[] = "CRM_MARKETING_SEND_RETRY_BACKOFF_MS";
constexpr char kClaimLease[] = "CRM_MARKETING_SEND_CLAIM_LEASE_MS";
constexpr char kDefaultRate[] = "CRM_MARKETING_DEFAULT_RATE_PER_MINUTE";
constexpr char kLookback[] = "CRM_MARKETING_ATTRIBUTION_LOOKBACK_DAYS";
constexpr char kSequenceInterval[] = "CRM_MARKETING_SEQUENCE_INTERVAL_MS";
constexpr char kSequenceRetry[] = "CRM_MARKETING_SEQUENCE_RETRY_MS";
constexpr char kLeadsAddr[] = "CRM_MARKETING_LEADS_ADDR";
constexpr char kContactsAddr[] = "CRM_MARKETING_CONTACTS_ADDR";
constexpr char kCallTimeout[] = "CRM_MARKETING_CALL_TIMEOUT_MS";
constexpr char kUpstreamTls[] = "CRM_MARKETING_UPSTREAM_TLS_";

}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    std::vector<common::EnvVar> vars = {
        {kPublicBaseUrl,
         "public base URL of the gateway's HTTP side that serves tracked links (<base>/r/<token>) and unsubscribe "
         "links, without a trailing slash",
         "http://127.0.0.1:8080"},
        {kAudienceTopics,
         "topics consumed: the audience read model (contacts, leads), attribution (sales), comma separated",
         "crm.contacts.v1,crm.leads.v1,crm.sales.v1"},
        {kLookback, "how old a touch may be at a deal's close to count for attribution, in days (1..3650)", "90"},
        {kMaxAttempts, "failed attempts of one event before it goes to <topic>.dlq (1..100)", "5"},
        {kSmtpUrl, "the SMTP relay email is delivered to: smtp://host:port or smtps://host:port",
         "smtp://127.0.0.1:1025"},
        {kSmtpUser, "SMTP user name (empty: no authentication)", ""},
        {kSmtpPassword, "SMTP password", ""},
        {kSmtpTls, "true: STARTTLS required on smtp:// URLs", "false"},
        {kDefaultFrom, "the From address of tenants that set no sender (EmailSettings.from_email)",
         "marketing@crm.invalid"},
        {kSendInterval, "how often the sender looks for due sends and messages, in milliseconds", "500"},
        {kSendAttempts, "attempts of a message after temporary SMTP failures before it is given up (1..50)", "5"},
        {kSendBackoff, "wait after the first temporary failure of a message, doubling after each (ms)", "2000"},
        {kClaimLease,
         "a message claimed for this long without a recorded outcome (its process stopped) is counted unconfirmed "
         "and never sent again (ms)",
         "60000"},
        {kDefaultRate, "messages per minute into the relay per tenant and replica, when the tenant set none", "600"},
        {kSequenceInterval, "how often the sequence runner looks for due enrolments, in milliseconds", "1000"},
        {kSequenceRetry, "wait before a sequence step that could not reach the leads service is tried again (ms)",
         "30000"},
        {kLeadsAddr,
         "the leads service (host:port) that sequence steps call to record engagements and change lead statuses",
         "127.0.0.1:50052"},
        {kContactsAddr,
         "the contacts service (host:port) whose subject keys open the personal fields of its events (audience)",
         "127.0.0.1:50051"},
        {kCallTimeout, "deadline of each call to the leads service, in milliseconds", "5000"},
    };
    for (auto& var : common::ClientTlsVars(kUpstreamTls, "leads and contacts")) vars.push_back(std::move(var));
    return vars;
}

void Register(common::ServiceApp& app) {
    const auto& config = app.config();
    // Rows written before the personal columns were sealed (migration 0021): sealed and indexed before serving, and
    // the suppressions' clear addresses replaced by their blind index.
    app.AddColumnBackfill("audience", [table = audience::sealed::AudienceTable()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("audience.custom", [table = audience::sealed::CustomTable()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("email_recipients", [table = audience::sealed::RecipientsTable()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("suppressions", [](common::Db& db) { return email::IndexSuppressions(db); });
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
    areas.engagement = std::make_shared<engagement::Engagement>(app.db());
    areas.segments = std::make_shared<segments::Segments>(app.db(), app.outbox());
    areas.email = std::make_shared<email::Email>(app.db(), app.outbox());
    const int lookback = static_cast<int>(config.GetInt(kLookback, 1, 3650));
    areas.performance = std::make_shared<attribution::Performance>(app.db(), lookback);
    areas.sequences = std::make_shared<sequences::Sequences>(app.db(), app.outbox());
    areas.tracking =
        std::make_shared<tracking::Tracking>(app.db(), app.outbox(), *areas.segments, campaign_settings.internal_key);

    email::SenderSettings sender_settings;
    sender_settings.relay.url = config.Get(kSmtpUrl);
    if (sender_settings.relay.url.rfind("smtp://", 0) != 0 && sender_settings.relay.url.rfind("smtps://", 0) != 0) {
        throw common::ConfigError(std::string(kSmtpUrl) + " must start with smtp:// or smtps://");
    }
    sender_settings.relay.username = config.Get(kSmtpUser);
    sender_settings.relay.password = config.Get(kSmtpPassword);
    sender_settings.relay.require_tls = config.GetBool(kSmtpTls);
    sender_settings.default_from = config.Get(kDefaultFrom);
    sender_settings.internal_key = campaign_settings.internal_key;
    sender_settings.public_base_url = campaign_settings.public_base_url;
    sender_settings.tick = std::chrono::milliseconds(config.GetInt(kSendInterval, 10, 60000));
    sender_settings.max_attempts = static_cast<int>(config.GetInt(kSendAttempts, 1, 50));
    sender_settings.retry_backoff = std::chrono::milliseconds(config.GetInt(kSendBackoff, 10, 3600000));
    sender_settings.claim_lease = std::chrono::milliseconds(config.GetInt(kClaimLease, 1000, 86400000));
    sender_settings.default_rate_per_minute = static_cast<int>(config.GetInt(kDefaultRate, 1, 100000));
    auto sender = std::make_shared<email::Sender>(app.db(), app.outbox(), app.metrics(), sender_settings);
    app.OnStart([sender] { sender->Start(); });
    app.OnShutdown([sender] { sender->Stop(); });

    sequences::RunnerSettings runner_settings;
    runner_settings.tick = std::chrono::milliseconds(config.GetInt(kSequenceInterval, 10, 60000));
    runner_settings.retry_after = std::chrono::milliseconds(config.GetInt(kSequenceRetry, 10, 3600000));
    runner_settings.leads_addr = config.Get(kLeadsAddr);
    runner_settings.leads_tls = common::ClientTlsFiles(config, kUpstreamTls);
    runner_settings.internal_key = campaign_settings.internal_key;
    runner_settings.call_timeout = std::chrono::milliseconds(config.GetInt(kCallTimeout, 100, 60000));
    auto runner = std::make_shared<sequences::Runner>(app.db(), app.outbox(), app.metrics(), runner_settings);
    app.OnStart([runner] { runner->Start(); });
    app.OnShutdown([runner] { runner->Stop(); });

    // The audience read model and, in the same transaction, the memberships the event changed; attribution of deals.
    common::ConsumerSettings consumer = app.ConsumerDefaults();
    consumer.topics = config.GetList(kAudienceTopics);
    if (consumer.topics.empty()) throw common::ConfigError(std::string(kAudienceTopics) + " must name a topic");
    consumer.max_attempts = static_cast<int>(config.GetInt(kMaxAttempts, 1, 100));
    consumer.kafka["topic.metadata.refresh.interval.ms"] = "5000";
    consumer.commit_interval = std::chrono::milliseconds(500);
    // The audience needs people's e-mails and names: contacts' and leads' events carry them sealed.
    consumer.keys = app.SubjectKeys({{"contacts", config.Get(kContactsAddr)}, {"leads", config.Get(kLeadsAddr)}},
                                    common::ClientTlsFiles(config, kUpstreamTls));
    auto applied = &prometheus::BuildCounter()
                        .Name("crm_marketing_audience_changes_total")
                        .Help(
                            "People whose audience record changed from a consumed event (merges and erasures "
                            "included).")
                        .Register(app.metrics().registry())
                        .Add({});
    common::Db& db = app.db();
    auto segments = areas.segments;
    common::Outbox& outbox = app.outbox();
    app.AddConsumer(std::make_unique<common::EventConsumer>(
        consumer, db, app.metrics(),
        [&db, &outbox, segments, applied, lookback](pqxx::work& tx, const common::ConsumedEvent& ev) {
            if (ev.topic.rfind("crm.sales.", 0) == 0) {
                attribution::Apply(db, outbox, tx, ev, lookback);
                return;
            }
            const audience::Changes changes = audience::Apply(db, tx, ev);
            for (const auto& touch : changes.touches) {
                namespace ev1 = crm::marketing::events::v1;
                ev1::TouchRecorded out;
                out.set_touch_id(touch.id);
                out.set_campaign_id(touch.campaign_id);
                out.set_person_id(touch.person_id);
                out.set_type(touch.type);
                out.set_channel(touch.channel);
                SetMicros(out.mutable_touch_time(), touch.micros);
                Emit(outbox, tx, ev.tenant_id(), "", "touch", touch.id, 1, out);
            }
            if (!changes.empty()) segments->Apply(tx, ev.tenant_id(), changes);
            sequences::ApplyEvent(db, outbox, tx, ev, changes);
            if (changes.empty()) return;
            applied->Increment(
                static_cast<double>(changes.refreshed.size() + changes.merged.size() + changes.erased.size()));
        }));
    app.AddSubjectHandlers(subject_data::Handlers(segments, campaign_settings.internal_key));
    app.AddService(std::make_shared<MarketingService>(app.rpc(), app.metrics(), std::move(areas)));
}

}  // namespace crm::marketing
