// Wiring of the leads service: its settings (the only code here that reads configuration), the application code of
// every area, the gRPC service, and the SLA scheduler with the hourly upkeep.
#include "register.hpp"

#include "assignment/assignment.hpp"
#include "capture/capture.hpp"
#include "conversion/conversion.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/retention.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/service.hpp"
#include "crm/common/subject_data.hpp"
#include "crm/common/tls.hpp"
#include "email_engagement/email_engagement.hpp"
#include "grpc_service.hpp"
#include "lifecycle/lifecycle.hpp"
#include "lifecycle/sealed.hpp"
#include "retention/retention.hpp"
#include "scoring/scoring.hpp"
#include "sla/scheduler.hpp"
#include "sla/sla.hpp"
#include "subject_data/subject_data.hpp"

namespace crm::leads {
namespace {

constexpr char kContactsAddr[] = "CRM_LEADS_CONTACTS_ADDR";
constexpr char kSalesAddr[] = "CRM_LEADS_SALES_ADDR";
constexpr char kCallTimeout[] = "CRM_LEADS_CALL_TIMEOUT_MS";
constexpr char kSlaInterval[] = "CRM_LEADS_SLA_SCAN_INTERVAL_MS";
constexpr char kUpstreamTls[] = "CRM_LEADS_UPSTREAM_TLS_";
constexpr char kMarketingTopics[] = "CRM_LEADS_MARKETING_TOPICS";

}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    std::vector<common::EnvVar> vars = {
        {kContactsAddr, "host:port of the contacts service (lead conversion creates people and companies there)",
         "127.0.0.1:50051"},
        {kSalesAddr, "host:port of the sales service (opportunities on conversion); empty = not available", ""},
        {kCallTimeout, "deadline of each call to contacts and sales, in milliseconds (bounded by the caller's)",
         "5000"},
        {kSlaInterval, "how often the SLA scheduler looks for passed first-touch deadlines, in milliseconds", "5000"},
        {kMarketingTopics,
         "topics of marketing's events whose EmailClicked/EmailOpened become engagements of the recipient lead, comma "
         "separated; empty: none consumed",
         "crm.marketing.v1"}};
    for (auto& var : common::ClientTlsVars(kUpstreamTls, "contacts and sales")) vars.push_back(std::move(var));
    return vars;
}

void Register(common::ServiceApp& app) {
    app.AddRetentionRules(retention::Rules());
    // Leads written before their personal columns were sealed (migration 0007): sealed and indexed before serving.
    app.AddColumnBackfill("leads", [table = lifecycle::sealed::Table()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("leads.attributes", [table = lifecycle::sealed::AttributesTable()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("lead_engagements", [table = lifecycle::sealed::EngagementsTable()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddSubjectHandlers(subject_data::Handlers());
    const auto& config = app.config();
    conversion::Settings conversion_settings;
    conversion_settings.internal_key = config.Get("CRM_INTERNAL_KEY");
    conversion_settings.contacts_addr = config.Get(kContactsAddr);
    conversion_settings.sales_addr = config.Get(kSalesAddr);
    conversion_settings.call_timeout = std::chrono::milliseconds(config.GetInt(kCallTimeout, 100, 60000));
    conversion_settings.upstream_tls = common::ClientTlsFiles(config, kUpstreamTls);
    // Web-form tokens get their own key, derived from the internal key, so a token can never pass as anything else.
    capture::Settings capture_settings{
        .form_token_key = common::HmacSha256(conversion_settings.internal_key, "crm.leads.web-form-token-key")};
    const auto sla_interval = std::chrono::milliseconds(config.GetInt(kSlaInterval, 100, 3600000));

    Areas areas;
    areas.capture = std::make_shared<capture::Capture>(app.db(), app.outbox(), app.metrics(), capture_settings);
    areas.lifecycle = std::make_shared<lifecycle::Lifecycle>(app.db(), app.outbox());
    areas.scoring = std::make_shared<scoring::Scoring>(app.db(), app.outbox(), app.metrics());
    areas.assignment = std::make_shared<assignment::Assignment>(app.db(), app.outbox());
    areas.conversion =
        std::make_shared<conversion::Conversion>(app.db(), app.outbox(), app.metrics(), conversion_settings);
    auto capture = areas.capture;
    app.AddService(std::make_shared<LeadsService>(app.rpc(), std::move(areas)));

    // Idempotency keys are purged by the kit's bootstrap; the service's own upkeep is the used web-form nonces.
    auto scheduler =
        std::make_shared<sla::SlaScheduler>(std::make_shared<sla::Sla>(app.db(), app.outbox()), app.metrics(),
                                            sla_interval, [capture] { return capture->DropUsedFormTokens(); });
    app.OnStart([scheduler] { scheduler->Start(); });
    // Marketing's email clicks and opens as engagements of the recipient lead (scored by the tenant's rules).
    common::ConsumerSettings consumer = app.ConsumerDefaults();
    consumer.topics = config.GetList(kMarketingTopics);
    if (!consumer.topics.empty()) {
        consumer.kafka["topic.metadata.refresh.interval.ms"] = "5000";
        consumer.commit_interval = std::chrono::milliseconds(500);
        common::Db& db = app.db();
        common::Outbox& outbox = app.outbox();
        app.AddConsumer(std::make_unique<common::EventConsumer>(
            consumer, db, app.metrics(), [&db, &outbox](pqxx::work& tx, const common::ConsumedEvent& ev) {
                email_engagement::Apply(db, outbox, tx, ev);
            }));
    }
    app.OnShutdown([scheduler] { scheduler->Stop(); });
}

}  // namespace crm::leads
