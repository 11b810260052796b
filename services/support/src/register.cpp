// Wiring of the support service: its settings (the only code here that reads configuration), the application code of
// every area, the gRPC service, and the consumer of contacts events.
#include "register.hpp"

#include "cases/cases.hpp"
#include "cases/contacts_check.hpp"
#include "contact_events/contact_events.hpp"
#include "conversation/conversation.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/service.hpp"
#include "crm/common/tls.hpp"
#include "grpc_service.hpp"
#include "sla/scheduler.hpp"
#include "sla/sla.hpp"

namespace crm::support {
namespace {

constexpr char kContactsAddr[] = "CRM_SUPPORT_CONTACTS_ADDR";
constexpr char kCallTimeout[] = "CRM_SUPPORT_CALL_TIMEOUT_MS";
constexpr char kReopenDays[] = "CRM_SUPPORT_REOPEN_DAYS";
constexpr char kContactsTopic[] = "CRM_SUPPORT_CONTACTS_TOPIC";
constexpr char kSlaInterval[] = "CRM_SUPPORT_SLA_SCAN_INTERVAL_MS";
constexpr char kUpstreamTls[] = "CRM_SUPPORT_UPSTREAM_TLS_";

}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    std::vector<common::EnvVar> vars = {
        {kContactsAddr,
         "host:port of the contacts service (case links to contacts and companies are checked there); empty = links "
         "cannot be set",
         "127.0.0.1:50051"},
        {kCallTimeout, "deadline of each call to another service, in milliseconds (bounded by the caller's)", "3000"},
        {kReopenDays, "days after a solve during which a customer message or ChangeCaseStatus reopens a case (0..365)",
         "7"},
        {kContactsTopic, "topic of the contacts events (merges move cases, erasures blank messages)",
         "crm.contacts.v1"},
        {kSlaInterval, "how often each replica's SLA scheduler looks for due warnings and breaches, in milliseconds",
         "5000"}};
    for (auto& var : common::ClientTlsVars(kUpstreamTls, "contacts")) vars.push_back(std::move(var));
    return vars;
}

void Register(common::ServiceApp& app) {
    const auto& config = app.config();
    cases::ContactsSettings contacts_settings;
    contacts_settings.internal_key = config.Get("CRM_INTERNAL_KEY");
    contacts_settings.contacts_addr = config.Get(kContactsAddr);
    contacts_settings.call_timeout = std::chrono::milliseconds(config.GetInt(kCallTimeout, 100, 60000));
    contacts_settings.tls = common::ClientTlsFiles(config, kUpstreamTls);
    const cases::Settings case_settings{.reopen_days = static_cast<int>(config.GetInt(kReopenDays, 0, 365))};
    const std::string contacts_topic = config.Get(kContactsTopic);
    if (contacts_topic.empty()) throw common::ConfigError(std::string(kContactsTopic) + " must name a topic");

    Areas areas;
    areas.cases = std::make_shared<cases::Cases>(
        app.db(), app.outbox(), std::make_shared<cases::ContactsCheck>(std::move(contacts_settings)), case_settings);
    areas.conversation =
        std::make_shared<conversation::Conversation>(app.db(), app.outbox(), case_settings.reopen_days);
    areas.sla = std::make_shared<sla::Sla>(app.db(), app.outbox());
    auto scheduler = std::make_shared<sla::SlaScheduler>(
        areas.sla, app.metrics(), std::chrono::milliseconds(config.GetInt(kSlaInterval, 50, 3600000)));
    app.AddService(std::make_shared<SupportService>(app.rpc(), std::move(areas)));
    app.OnStart([scheduler] { scheduler->Start(); });
    app.OnShutdown([scheduler] { scheduler->Stop(); });

    common::ConsumerSettings consumer = app.ConsumerDefaults();
    consumer.topics = {contacts_topic};
    consumer.commit_interval = std::chrono::milliseconds(500);
    app.AddConsumer(std::make_unique<common::EventConsumer>(consumer, app.db(), app.metrics(),
                                                            contact_events::MakeHandler(app.db(), app.outbox())));
}

}  // namespace crm::support
