#pragma once
// Scheduling and dispatch: the search for technicians who can do a work order (skills at level, certified at the
// visit, free for the visit plus travel inside a customer window and their working hours, not on time off), nearest
// first; booking (dispatch), moving (reschedule) and freeing (unassign) a work order's appointment. No two bookings
// of one technician overlap: the exclusion constraint of the appointments table refuses the second of two racing
// bookings (FAILED_PRECONDITION TECHNICIAN_BUSY). Include only from the service's .cpp files.
#include <crm/fieldservice/v1/fieldservice.pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crm/common/civil_date.hpp"
#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "domain/geo.hpp"
#include "records.hpp"

namespace crm::fieldservice::scheduling {

namespace v1 = crm::fieldservice::v1;
using common::RequestContext;

struct Settings {
    domain::TravelSpeeds speeds;
    // How many qualified technicians, nearest by home base, are checked for a free slot.
    int scan = 50;
    // A live position reported at most this long ago is where an en-route technician's travel starts.
    std::int64_t live_max_age_seconds = 900;
    // The search horizon of a work order without customer windows.
    std::int64_t default_horizon_seconds = 14 * 86400;
};

std::vector<v1::Candidate> FindCandidates(common::Db& db, const RequestContext& rc, const Settings& settings,
                                          const std::string& work_order_id, int max_candidates);
v1::WorkOrder Dispatch(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const Settings& settings,
                       const v1::DispatchWorkOrderRequest& req, FieldServiceMetrics& metrics);
v1::WorkOrder Reschedule(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const Settings& settings,
                         const v1::RescheduleWorkOrderRequest& req, FieldServiceMetrics& metrics);
v1::WorkOrder Unassign(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                       const v1::UnassignWorkOrderRequest& req);
// The technician's booked appointments overlapping [from, to) (micros); a technician-only caller only their own.
std::vector<v1::Appointment> ListAppointments(common::Db& db, const RequestContext& rc,
                                              const std::string& technician_id, std::int64_t from_micros,
                                              std::int64_t to_micros);

// The best visiting order of the technician's booked visits on their local `date` (a proposal; nothing changes).
v1::PlanDayResponse PlanDay(common::Db& db, const RequestContext& rc, const Settings& settings,
                            const std::string& technician_id, const common::CivilDate& date);

// ---- for other areas, inside their transaction

// The work order's booked appointment is freed (cancelled).
void ReleaseBooking(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                    const std::string& work_order_id);
// The work order's booked appointment is done (completed): it keeps its time on the calendar.
void FinishBooking(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                   const std::string& work_order_id);

}  // namespace crm::fieldservice::scheduling
