#include "register.hpp"

#include <grpcpp/grpcpp.h>

#include <stdexcept>

#include "crm/common/service.hpp"
#include "domain/geo.hpp"
#include "grpc_service.hpp"

namespace crm::fieldservice {
namespace {
constexpr char kDefaultSpeed[] = "CRM_FIELDSERVICE_DEFAULT_SPEED_KMH";
constexpr char kTerritorySpeeds[] = "CRM_FIELDSERVICE_TERRITORY_SPEEDS";
constexpr char kCandidateScan[] = "CRM_FIELDSERVICE_CANDIDATE_SCAN";
}  // namespace

std::vector<common::EnvVar> ConfigVars() {
    return {
        {kDefaultSpeed,
         "average travel speed in km/h (haversine distance / speed = travel time) for territories without their "
         "own (1..300)",
         "50"},
        {kTerritorySpeeds, "average travel speeds of named service territories: territory=km/h,... (1..300 each)", ""},
        {kCandidateScan,
         "how many qualified technicians, nearest first by home base (PostGIS KNN), FindCandidates and automatic "
         "dispatch check for a free slot (10..1000)",
         "50"}};
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
    app.AddService(
        std::make_shared<FieldService>(app.rpc(), app.metrics(), app.db(), app.outbox(), std::move(settings)));
}

}  // namespace crm::fieldservice
