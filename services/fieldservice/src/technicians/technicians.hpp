#pragma once
// Technicians: the use cases of the technician RPCs, and what other areas need of a technician inside their own
// transaction (the caller's own technician record, a calendar's fixed parts, the nearest qualified technicians).
// Include only from the service's .cpp files: it pulls in pqxx and the generated protos.
#include <crm/fieldservice/v1/fieldservice.pb.h>

#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "domain/availability.hpp"
#include "technicians/settings.hpp"

namespace crm::fieldservice::technicians {

namespace v1 = crm::fieldservice::v1;
using common::RequestContext;

// ---- use cases (input checked by the handlers; ids lowercased)

v1::Technician Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Technician& in,
                      const std::string& request_id);
// A technician-only caller sees only their own record (another is NOT_FOUND).
v1::Technician Get(common::Db& db, const RequestContext& rc, const std::string& id);
common::Page<v1::Technician> List(common::Db& db, const RequestContext& rc, const std::string& territory, int page_size,
                                  const std::string& page_token);
v1::Technician Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Technician& in,
                      const std::vector<std::string>& paths, const std::string& etag);

// Live locations (locations.cpp).
// Records a report (request checked; location_micros defaulted and bounded by the handler). A technician-only caller
// reports only for themself (another technician is NOT_FOUND). RESOURCE_EXHAUSTED when the technician's last report
// came in less than min_interval_seconds ago. No event: positions are telemetry, not changes of the technician.
v1::ReportLocationResponse ReportLocation(common::Db& db, const RequestContext& rc, const LocationSettings& settings,
                                          const v1::ReportLocationRequest& req, std::int64_t location_micros);
// NOT_FOUND for a technician-only caller unless `t` is their own record.
void RequireOwn(const RequestContext& rc, const v1::Technician& t);

// ---- for other areas, inside their transaction

// The id of the technician whose user_id is `user_id`, if any.
std::optional<std::string> IdOfUser(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::string& user_id);
// The technician, or NOT_FOUND; for_update locks its row (bookings of one technician then queue behind each other).
v1::Technician Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                    bool for_update = false);

struct Near {
    v1::Technician technician;
    double distance_meters = 0;  // from the home base
};
// Active technicians with every required skill at its level, certified beyond `valid_at_micros`, nearest first by
// home base (PostGIS KNN), at most `limit`.
std::vector<Near> NearestQualified(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                   const v1::GeoPoint& site, const std::vector<v1::RequiredSkill>& skills,
                                   std::int64_t valid_at_micros, int limit);

// The same for technicians whose live position was reported after `reported_after_micros`, nearest first by that
// position (Near::distance_meters from it).
std::vector<Near> NearestQualifiedLive(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                       const v1::GeoPoint& site, const std::vector<v1::RequiredSkill>& skills,
                                       std::int64_t valid_at_micros, std::int64_t reported_after_micros, int limit);

// The fixed parts of a technician's calendar: zone, working hours, time off, home (booked visits are added by the
// caller). Throws FAILED_PRECONDITION when the stored zone cannot be loaded.
domain::Calendar CalendarOf(const v1::Technician& t);
// Whether the technician has every skill at its level, valid (not expired) until `until_micros`.
bool Qualified(const v1::Technician& t, const std::vector<v1::RequiredSkill>& skills, std::int64_t until_micros);
// The earliest expiry among the technician's certifications of the required skills (INT64_MAX when none expires).
std::int64_t CertifiedUntil(const v1::Technician& t, const std::vector<v1::RequiredSkill>& skills);

}  // namespace crm::fieldservice::technicians
