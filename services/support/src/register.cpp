// Wiring of the support service: its settings (the only code here that reads configuration), the application code of
// every area, the gRPC service, and the consumer of contacts' and field service's events.
#include "register.hpp"

#include "cases/cases.hpp"
#include "contact_events/contact_events.hpp"
#include "conversation/conversation.hpp"
#include "crm/clients/contacts.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/service.hpp"
#include "crm/common/subject_data.hpp"
#include "crm/common/tls.hpp"
#include "csat/csat.hpp"
#include "csat/service.hpp"
#include "customer360/service.hpp"
#include "customer360/view.hpp"
#include "email/email.hpp"
#include "fieldservice_events/fieldservice_events.hpp"
#include "grpc_service.hpp"
#include "kb/knowledge.hpp"
#include "kb/service.hpp"
#include "queues/queues.hpp"
#include "queues/routing_service.hpp"
#include "sealed.hpp"
#include "sentiment/sentiment.hpp"
#include "sla/scheduler.hpp"
#include "sla/sla.hpp"
#include "subject_data/subject_data.hpp"

namespace crm::support {
namespace {

constexpr char kContactsAddr[] = "CRM_SUPPORT_CONTACTS_ADDR";
constexpr char kCallTimeout[] = "CRM_SUPPORT_CALL_TIMEOUT_MS";
constexpr char kReopenDays[] = "CRM_SUPPORT_REOPEN_DAYS";
constexpr char kContactsTopic[] = "CRM_SUPPORT_CONTACTS_TOPIC";
constexpr char kFieldServiceTopic[] = "CRM_SUPPORT_FIELDSERVICE_TOPIC";
constexpr char kSmtpUrl[] = "CRM_SUPPORT_SMTP_URL";
constexpr char kSmtpUser[] = "CRM_SUPPORT_SMTP_USERNAME";
constexpr char kSmtpPassword[] = "CRM_SUPPORT_SMTP_PASSWORD";
constexpr char kSmtpRequireTls[] = "CRM_SUPPORT_SMTP_REQUIRE_TLS";
constexpr char kMailFrom[] = "CRM_SUPPORT_MAIL_FROM";
constexpr char kMailFromName[] = "CRM_SUPPORT_MAIL_FROM_NAME";
constexpr char kMessageIdDomain[] = "CRM_SUPPORT_MESSAGE_ID_DOMAIN";
constexpr char kSlaInterval[] = "CRM_SUPPORT_SLA_SCAN_INTERVAL_MS";
constexpr char kUpstreamTls[] = "CRM_SUPPORT_UPSTREAM_TLS_";
constexpr char kSalesAddr[] = "CRM_SUPPORT_SALES_ADDR";
constexpr char kLeadsAddr[] = "CRM_SUPPORT_LEADS_ADDR";
constexpr char kMarketingAddr[] = "CRM_SUPPORT_MARKETING_ADDR";
constexpr char kFieldserviceAddr[] = "CRM_SUPPORT_FIELDSERVICE_ADDR";
constexpr char kViewTimeout[] = "CRM_SUPPORT_VIEW_TIMEOUT_MS";
constexpr char kPublicBaseUrl[] = "CRM_SUPPORT_PUBLIC_BASE_URL";
constexpr char kCsatValidDays[] = "CRM_SUPPORT_CSAT_VALID_DAYS";

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
        {kFieldServiceTopic, "topic of the field-service events (a completed work order of a case adds a note to it)",
         "crm.fieldservice.v1"},
        {kSmtpUrl, "SMTP relay for e-mailed replies (smtp:// or smtps://); empty = public replies are not e-mailed",
         ""},
        {kSmtpUser, "SMTP relay user name (empty = no authentication)", ""},
        {kSmtpPassword, "SMTP relay password", ""},
        {kSmtpRequireTls, "1 = STARTTLS required on smtp://", "0"},
        {kMailFrom, "the support address replies are sent from", "support@example.com"},
        {kMailFromName, "display name of the support address", "Support"},
        {kMessageIdDomain, "domain part of the Message-IDs of e-mailed replies", "support.crm.local"},
        {kSlaInterval, "how often each replica's SLA scheduler looks for due warnings and breaches, in milliseconds",
         "5000"}};
    vars.push_back({kSalesAddr,
                    "host:port of the sales service (the customer view's deals and activities); empty = not shown",
                    "127.0.0.1:50053"});
    vars.push_back({kLeadsAddr,
                    "host:port of the leads service (the customer view's originating lead); empty = not shown",
                    "127.0.0.1:50052"});
    vars.push_back({kMarketingAddr,
                    "host:port of the marketing service (the customer view's marketing record); empty = not shown",
                    "127.0.0.1:50054"});
    vars.push_back({kViewTimeout,
                    "deadline of each section of GetCustomer360 (its calls to contacts, sales, leads, marketing), in "
                    "milliseconds (bounded by the caller's)",
                    "1000"});
    vars.push_back({kPublicBaseUrl,
                    "public base URL of the gateway's HTTP side that serves the satisfaction survey links of solving "
                    "replies (<base>/csat/<token>), without a trailing slash",
                    "http://127.0.0.1:8080"});
    vars.push_back({kCsatValidDays, "days during which a satisfaction survey can be answered (1..365)", "30"});
    vars.push_back({kFieldserviceAddr,
                    "host:port of the field-service service, whose subject keys open the personal fields of its "
                    "events (a completed visit's notes on the case)",
                    "127.0.0.1:50056"});
    for (auto& var : common::ClientTlsVars(kUpstreamTls, "contacts, sales, leads, marketing and fieldservice")) {
        vars.push_back(std::move(var));
    }
    return vars;
}

void Register(common::ServiceApp& app) {
    const auto& config = app.config();
    clients::ContactsSettings contacts_settings{.caller = "support", .address_variable = kContactsAddr};
    contacts_settings.internal_key = config.Get("CRM_INTERNAL_KEY");
    contacts_settings.contacts_addr = config.Get(kContactsAddr);
    contacts_settings.call_timeout = std::chrono::milliseconds(config.GetInt(kCallTimeout, 100, 60000));
    contacts_settings.tls = common::ClientTlsFiles(config, kUpstreamTls);
    const cases::Settings case_settings{.reopen_days = static_cast<int>(config.GetInt(kReopenDays, 0, 365))};
    const std::string contacts_topic = config.Get(kContactsTopic);
    if (contacts_topic.empty()) throw common::ConfigError(std::string(kContactsTopic) + " must name a topic");
    const std::string fieldservice_topic = config.Get(kFieldServiceTopic);
    if (fieldservice_topic.empty() || fieldservice_topic == contacts_topic) {
        throw common::ConfigError(std::string(kFieldServiceTopic) + " must name a topic other than the contacts one");
    }

    Areas areas;
    auto contacts = std::make_shared<clients::ContactsClient>(std::move(contacts_settings));
    areas.cases = std::make_shared<cases::Cases>(app.db(), app.outbox(), contacts, case_settings);
    areas.email = std::make_shared<email::Email>(app.db(), app.outbox(), contacts, case_settings.reopen_days);
    std::shared_ptr<email::Mailer> mailer;
    if (!config.Get(kSmtpUrl).empty()) {
        email::MailSettings mail;
        mail.relay.url = config.Get(kSmtpUrl);
        mail.relay.username = config.Get(kSmtpUser);
        mail.relay.password = config.Get(kSmtpPassword);
        mail.relay.require_tls = config.GetInt(kSmtpRequireTls, 0, 1) == 1;
        mail.from_address = config.Get(kMailFrom);
        mail.from_name = config.Get(kMailFromName);
        mail.message_id_domain = config.Get(kMessageIdDomain);
        if (!common::mail::IsDeliverableAddress(mail.from_address)) {
            throw common::ConfigError(std::string(kMailFrom) + " must be an e-mail address");
        }
        mailer = std::make_shared<email::Mailer>(std::move(mail), app.metrics());
    }
    csat::Settings csat_settings{.public_base_url = config.Get(kPublicBaseUrl),
                                 .internal_key = config.Get("CRM_INTERNAL_KEY"),
                                 .valid_days = static_cast<int>(config.GetInt(kCsatValidDays, 1, 365))};
    const std::string& base = csat_settings.public_base_url;
    if ((base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) || base.back() == '/') {
        throw common::ConfigError(std::string(kPublicBaseUrl) +
                                  " must be an http:// or https:// URL without a trailing slash");
    }
    areas.conversation = std::make_shared<conversation::Conversation>(app.db(), app.outbox(), case_settings.reopen_days,
                                                                      mailer, csat_settings);
    areas.sla = std::make_shared<sla::Sla>(app.db(), app.outbox());
    auto scheduler = std::make_shared<sla::SlaScheduler>(
        areas.sla, app.metrics(), std::chrono::milliseconds(config.GetInt(kSlaInterval, 50, 3600000)));
    app.AddService(std::make_shared<SupportService>(app.rpc(), std::move(areas)));
    app.AddService(std::make_shared<SupportRoutingService>(app.rpc(),
                                                           std::make_shared<queues::Queues>(app.db(), app.outbox()),
                                                           std::make_shared<sentiment::Sentiments>(app.db())));
    app.AddService(std::make_shared<kb::KnowledgeService>(
        app.rpc(), std::make_shared<kb::Knowledge>(app.db(), app.outbox(), app.metrics())));
    customer360::Settings view_settings;
    view_settings.contacts_addr = config.Get(kContactsAddr);
    view_settings.sales_addr = config.Get(kSalesAddr);
    view_settings.leads_addr = config.Get(kLeadsAddr);
    view_settings.marketing_addr = config.Get(kMarketingAddr);
    view_settings.internal_key = config.Get("CRM_INTERNAL_KEY");
    view_settings.tls = common::ClientTlsFiles(config, kUpstreamTls);
    view_settings.section_timeout = std::chrono::milliseconds(config.GetInt(kViewTimeout, 50, 60000));
    app.AddService(std::make_shared<customer360::CustomerViewService>(
        app.rpc(), std::make_shared<customer360::CustomerView>(app.db(), std::move(view_settings), app.metrics())));
    app.AddService(std::make_shared<csat::CsatService>(
        app.rpc(), std::make_shared<csat::Csat>(app.db(), app.outbox(), csat_settings, app.metrics())));
    // Rows written before encryption at rest (migration 0104) are sealed before the service answers.
    for (common::SealedTable table : sealed::Tables()) {
        std::string name = table.table;
        app.AddColumnBackfill(std::move(name), [table = std::move(table)](common::Db& db) {
            return common::BackfillSealedColumns(db, table);
        });
    }
    app.AddSubjectHandlers(subject_data::Handlers());
    app.OnStart([scheduler] { scheduler->Start(); });
    app.OnShutdown([scheduler] { scheduler->Stop(); });

    common::ConsumerSettings consumer = app.ConsumerDefaults();
    consumer.topics = {contacts_topic, fieldservice_topic};
    consumer.commit_interval = std::chrono::milliseconds(500);
    // A completed visit's title and technician's notes arrive sealed (personal_fields.hpp).
    consumer.keys = app.SubjectKeys({{"fieldservice", config.Get(kFieldserviceAddr)}}, contacts_settings.tls);
    // A topic created after the start (its producer deployed or first publishing later) is noticed within seconds.
    consumer.kafka["topic.metadata.refresh.interval.ms"] = "5000";
    auto on_contacts = contact_events::MakeHandler(app.db(), app.outbox());
    auto on_fieldservice = fieldservice_events::MakeHandler(app.db(), app.outbox(), case_settings.reopen_days);
    app.AddConsumer(std::make_unique<common::EventConsumer>(
        consumer, app.db(), app.metrics(),
        [on_contacts, on_fieldservice, fieldservice_topic](pqxx::work& tx, const common::ConsumedEvent& event) {
            if (event.topic == fieldservice_topic) {
                on_fieldservice(tx, event);
            } else {
                on_contacts(tx, event);
            }
        }));
}

}  // namespace crm::support
