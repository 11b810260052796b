// Live locations of technicians (see technicians.hpp, ReportLocation).
#include "crm/common/errors.hpp"
#include "records.hpp"
#include "technicians/sql.hpp"
#include "technicians/technicians.hpp"

namespace crm::fieldservice::technicians {

v1::ReportLocationResponse ReportLocation(common::Db& db, const RequestContext& rc, const LocationSettings& settings,
                                          const v1::ReportLocationRequest& req, std::int64_t location_micros) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Technician tech = Load(db, tx, t, req.technician_id());
        RequireOwn(rc, tech);
        const double lat = req.location().latitude(), lon = req.location().longitude();
        const pqxx::result rows = db.Exec(tx, sql::kUpsertLocation, t, tech.id(), lat, lon, location_micros,
                                          req.accuracy_meters(), static_cast<double>(settings.min_interval_seconds));
        if (rows.empty()) {
            throw common::ApiError(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "at most one location report every " +
                                       std::to_string(settings.min_interval_seconds) +
                                       " seconds per technician; send the next one later",
                                   "LOCATION_RATE_LIMITED");
        }
        const auto report = rows[0][0].as<std::int64_t>();
        db.Exec(tx, sql::kInsertLocationHistory, t, tech.id(), report, lat, lon, location_micros,
                req.accuracy_meters());
        if (report > settings.history) db.Exec(tx, sql::kTrimLocationHistory, t, tech.id(), report - settings.history);
        v1::ReportLocationResponse out;
        *out.mutable_last_location() = Load(db, tx, t, tech.id()).last_location();
        out.set_history_only(rows[0][1].as<bool>());
        return out;
    });
}

}  // namespace crm::fieldservice::technicians
