#include "register.hpp"

#include <grpcpp/grpcpp.h>

#include <stdexcept>

#include "cases/cases.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/service.hpp"
#include "crm/common/subject_data.hpp"
#include "crm/common/tls.hpp"
#include "domain/geo.hpp"
#include "grpc_service.hpp"
#include "sealed.hpp"
#include "subject_data/subject_data.hpp"
#include "workorders/workorders.hpp"

namespace crm::fieldservice {
namespace {
constexpr char kDefaultSpeed[] = "CRM_FIELDSERVICE_DEFAULT_SPEED_KMH";
constexpr char kTerritorySpeeds[] = "CRM_FIELDSERVICE_TERRITORY_SPEEDS";
constexpr char kCandidateScan[] = "CRM_FIELDSERVICE_CANDIDATE_SCAN";
constexpr char kLocationInterval[] = "CRM_FIELDSERVICE_LOCATION_MIN_INTERVAL_SECONDS";
constexpr char kLocationHistory[] = "CRM_FIELDSERVICE_LOCATION_HISTORY";
constexpr char kLiveMaxAge[] = "CRM_FIELDSERVICE_LIVE_POSITION_MAX_AGE_SECONDS";
constexpr char kSupportTopic[] = "CRM_FIELDSERVICE_SUPPORT_TOPIC";
constexpr char kSupportAddr[] = "CRM_FIELDSERVICE_SUPPORT_ADDR";
constexpr char kUpstreamTls[] = "CRM_FIELDSERVICE_UPSTREAM_TLS_";
}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    std::vector<common::EnvVar> vars = {
        {kDefaultSpeed,
         "average travel speed in km/h (haversine distance / speed = travel time) for territories without their "
         "own (1..300)",
         "50"},
        {kTerritorySpeeds, "average travel speeds of named service territories: territory=km/h,... (1..300 each)", ""},
        {kCandidateScan,
         "how many qualified technicians, nearest first by home base (PostGIS KNN), FindCandidates and automatic "
         "dispatch check for a free slot (10..1000)",
         "50"},
        {kLocationInterval, "at most one ReportLocation per technician in this many seconds (1..3600)", "5"},
        {kLocationHistory, "location reports kept per technician, newest first (10..100000)", "100"},
        {kLiveMaxAge,
         "a live position reported at most this many seconds ago is where an en-route technician's travel starts in "
         "FindCandidates and dispatch (60..86400)",
         "900"},
        {kSupportTopic,
         "topic of support's events (a case created or escalated in a visit category gets its work order)",
         "crm.support.v1"},
        {kSupportAddr,
         "host:port of the support service, whose subject keys open the personal fields of its events (a case's "
         "subject and description on its work order)",
         "127.0.0.1:50055"}};
    for (auto& var : common::ClientTlsVars(kUpstreamTls, "support")) vars.push_back(std::move(var));
    return vars;
}

void Register(common::ServiceApp& app) {
    scheduling::Settings settings;
    settings.speeds.default_kmh = static_cast<double>(app.config().GetInt(kDefaultSpeed, 1, 300));
    try {
        settings.speeds.by_territory = domain::ParseTerritorySpeeds(app.config().Get(kTerritorySpeeds));
    } catch (const std::invalid_argument& e) {
        throw common::ConfigError(std::string(kTerritorySpeeds) + ": " + e.what());
    }
    settings.scan = static_cast<int>(app.config().GetInt(kCandidateScan, 10, 1000));
    settings.live_max_age_seconds = app.config().GetInt(kLiveMaxAge, 60, 86400);
    technicians::LocationSettings locations;
    locations.min_interval_seconds = static_cast<int>(app.config().GetInt(kLocationInterval, 1, 3600));
    locations.history = static_cast<int>(app.config().GetInt(kLocationHistory, 10, 100000));
    const std::string support_topic = app.config().Get(kSupportTopic);
    if (support_topic.empty()) throw common::ConfigError(std::string(kSupportTopic) + " must name a topic");
    app.AddService(std::make_shared<FieldService>(app.rpc(), app.metrics(), app.db(), app.outbox(), std::move(settings),
                                                  locations));
    app.AddSubjectHandlers(subject_data::Handlers());
    // Work orders written before their personal values were sealed (migration 0007): sealed before serving.
    app.AddColumnBackfill("work_orders", [table = sealed::WorkOrders()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("work_orders.site_address", [table = sealed::WorkOrderSites()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("work_order_history", [table = sealed::History()](common::Db& db) {
        return common::BackfillSealedColumns(db, table);
    });
    app.AddColumnBackfill("work_orders.completion", workorders::BackfillCompletions);

    common::ConsumerSettings consumer = app.ConsumerDefaults();
    consumer.topics = {support_topic};
    consumer.commit_interval = std::chrono::milliseconds(500);
    consumer.keys = app.SubjectKeys({{"support", app.config().Get(kSupportAddr)}},
                                    common::ClientTlsFiles(app.config(), kUpstreamTls));
    // A topic created after the start (its producer deployed or first publishing later) is noticed within seconds.
    consumer.kafka["topic.metadata.refresh.interval.ms"] = "5000";
    app.AddConsumer(std::make_unique<common::EventConsumer>(consumer, app.db(), app.metrics(),
                                                            cases::MakeHandler(app.db(), app.outbox())));
}

}  // namespace crm::fieldservice
