// Scheduling and dispatch (see scheduling.hpp).
#include "scheduling/scheduling.hpp"

#include <crm/fieldservice/events/v1/events.pb.h>
#include <prometheus/counter.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/resource.hpp"
#include "domain/availability.hpp"
#include "scheduling/sql.hpp"
#include "technicians/technicians.hpp"
#include "workorders/workorders.hpp"

namespace crm::fieldservice::scheduling {
namespace {

namespace ev = crm::fieldservice::events::v1;
using common::ApiError;
constexpr std::int64_t kDay = 86400;
// A booking that overlaps a committed one. Two transactions inserting overlapping blocks at the same moment each wait
// for the other's exclusion check instead: PostgreSQL aborts one as a deadlock (40P01) and the other commits, so the
// aborted one lost the race too.
constexpr char kExclusionViolation[] = "23P01";

struct Booking {
    std::string id;
    std::string work_order_id;
    std::string technician_id;
    domain::Booked booked;
};

// The visit a work order asks for: its windows (or now .. the default horizon), from now on.
domain::Visit VisitOf(const v1::WorkOrder& wo, const Settings& settings, std::int64_t now) {
    domain::Visit v;
    for (const auto& w : wo.time_windows()) {
        v.windows.push_back({w.start_time().seconds(), w.end_time().seconds()});
    }
    if (v.windows.empty()) v.windows.push_back({now, now + settings.default_horizon_seconds});
    v.duration_seconds = wo.duration_minutes() * 60LL;
    v.site = workorders::SiteOf(wo);
    v.not_before = now;
    return v;
}

std::pair<std::int64_t, std::int64_t> Hull(const std::vector<domain::Interval>& windows) {
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
    for (const auto& w : windows) {
        lo = std::min(lo, w.start);
        hi = std::max(hi, w.end);
    }
    return {lo, hi};
}

// Booked appointments of the technicians around the windows (a day either side: travel and working days).
std::map<std::string, std::vector<domain::Booked>> BookedOf(common::Db& db, pqxx::transaction_base& tx,
                                                            const std::string& tenant,
                                                            const std::vector<std::string>& technicians,
                                                            const domain::Visit& visit) {
    std::map<std::string, std::vector<domain::Booked>> out;
    if (technicians.empty()) return out;
    const auto [lo, hi] = Hull(visit.windows);
    for (const auto& r : db.Exec(tx, sql::kBookedOfTechnicians, tenant, UuidArray(technicians), (lo - kDay) * 1000000,
                                 (hi + kDay) * 1000000)) {
        out[r[2].as<std::string>()].push_back({r[3].as<std::int64_t>() / 1000000,
                                               r[4].as<std::int64_t>() / 1000000,
                                               r[5].as<std::int64_t>() / 1000000,
                                               {r[7].as<double>(), r[8].as<double>()}});
    }
    return out;
}

// The visit for one technician: windows cut where a required certification expires.
domain::Visit VisitFor(const v1::Technician& t, const v1::WorkOrder& wo, domain::Visit visit) {
    const std::vector<v1::RequiredSkill> skills(wo.required_skills().begin(), wo.required_skills().end());
    const std::int64_t until = technicians::CertifiedUntil(t, skills);
    if (until == std::numeric_limits<std::int64_t>::max()) return visit;
    const std::int64_t until_s = until / 1000000;
    std::vector<domain::Interval> kept;
    for (auto w : visit.windows) {
        w.end = std::min(w.end, until_s);
        if (w.end > w.start) kept.push_back(w);
    }
    visit.windows = kept;
    return visit;
}

// The technician's calendar without bookings, with their live position when it was reported recently enough.
domain::Calendar CalendarNow(const v1::Technician& t, const Settings& settings, std::int64_t now) {
    domain::Calendar calendar = technicians::CalendarOf(t);
    if (t.has_last_location()) {
        const std::int64_t at = t.last_location().location_time().seconds();
        if (at > now - settings.live_max_age_seconds) {
            calendar.live = domain::LivePosition{
                {t.last_location().location().latitude(), t.last_location().location().longitude()}, at};
        }
    }
    return calendar;
}

struct Found {
    v1::Technician technician;
    domain::Slot slot;
    double utilisation = 0;
};

std::vector<Found> Search(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                          const Settings& settings, const v1::WorkOrder& wo, int max, std::int64_t now) {
    const domain::Visit visit = VisitOf(wo, settings, now);
    const std::vector<v1::RequiredSkill> skills(wo.required_skills().begin(), wo.required_skills().end());
    const std::int64_t valid_at = Hull(visit.windows).first * 1000000;
    // The nearest by home base, and the nearest by a live position (technicians out on their rounds).
    auto near = technicians::NearestQualified(db, tx, tenant, wo.site().location(), skills, valid_at, settings.scan);
    std::vector<std::string> ids;
    for (const auto& n : near) ids.push_back(n.technician.id());
    for (auto& n : technicians::NearestQualifiedLive(db, tx, tenant, wo.site().location(), skills, valid_at,
                                                     (now - settings.live_max_age_seconds) * 1000000, settings.scan)) {
        if (std::find(ids.begin(), ids.end(), n.technician.id()) != ids.end()) continue;
        ids.push_back(n.technician.id());
        near.push_back(std::move(n));
    }
    auto booked = BookedOf(db, tx, tenant, ids, visit);
    std::vector<Found> found;
    for (const auto& n : near) {
        domain::Calendar calendar = CalendarNow(n.technician, settings, now);
        calendar.booked = booked[n.technician.id()];
        const domain::Visit mine = VisitFor(n.technician, wo, visit);
        if (mine.windows.empty()) continue;
        const domain::HaversineTravel travel(settings.speeds.For(n.technician.territory()));
        if (auto slot = domain::EarliestSlot(calendar, mine, travel)) {
            found.push_back({n.technician, *slot, domain::Utilisation(calendar, mine.windows)});
        }
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
        if (a.slot.travel_minutes != b.slot.travel_minutes) return a.slot.travel_minutes < b.slot.travel_minutes;
        if (a.utilisation != b.utilisation) return a.utilisation < b.utilisation;
        if (a.slot.distance_meters != b.slot.distance_meters) return a.slot.distance_meters < b.slot.distance_meters;
        return a.technician.id() < b.technician.id();
    });
    if (static_cast<int>(found.size()) > max) found.resize(static_cast<std::size_t>(max));
    return found;
}

// The slot of one technician the dispatcher picked (at `start`, or the earliest).
domain::Slot SlotFor(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const Settings& settings,
                     const v1::WorkOrder& wo, const v1::Technician& t, const google::protobuf::Timestamp* start,
                     std::int64_t now) {
    if (!t.active()) throw ApiError::FailedPrecondition("the technician is not active", "TECHNICIAN_INACTIVE");
    const std::vector<v1::RequiredSkill> skills(wo.required_skills().begin(), wo.required_skills().end());
    if (!technicians::Qualified(t, skills, std::numeric_limits<std::int64_t>::min())) {
        throw ApiError::FailedPrecondition("the technician lacks a required skill at its level", "NOT_QUALIFIED");
    }
    const domain::Visit visit = VisitFor(t, wo, VisitOf(wo, settings, now));
    domain::Calendar calendar = CalendarNow(t, settings, now);
    calendar.booked = BookedOf(db, tx, tenant, {t.id()}, visit)[t.id()];
    const domain::HaversineTravel travel(settings.speeds.For(t.territory()));
    const auto slot = start ? domain::SlotAt(calendar, visit, travel, start->seconds())
                            : domain::EarliestSlot(calendar, visit, travel);
    if (!slot) {
        throw ApiError::FailedPrecondition(
            start ? "the technician cannot take the visit at that time (working hours, windows, time off, bookings, "
                    "certifications)"
                  : "the technician has no free slot in the work order's windows",
            "NOT_AVAILABLE");
    }
    return *slot;
}

// Inserts the appointment; the exclusion constraint refuses an overlap with a booking committed meanwhile.
void Book(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::WorkOrder& wo,
          const std::string& technician_id, const domain::Slot& slot, FieldServiceMetrics& metrics) {
    try {
        db.Exec(tx, sql::kInsertAppointment, tenant, common::NewUuid(), wo.id(), technician_id, slot.start * 1000000,
                slot.end * 1000000, slot.travel_minutes, wo.site().location().latitude(),
                wo.site().location().longitude());
    } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() != kExclusionViolation) throw;
        metrics.booking_conflicts.Increment();
        throw ApiError::FailedPrecondition("the technician is already booked at that time", "TECHNICIAN_BUSY");
    } catch (const pqxx::deadlock_detected&) {  // SQLSTATE 40P01 (libpqxx 6: not an sql_error)
        metrics.booking_conflicts.Increment();
        throw ApiError::FailedPrecondition("the technician is already booked at that time", "TECHNICIAN_BUSY");
    }
    metrics.bookings.Increment();
}

v1::Candidate ToCandidate(const Found& f) {
    v1::Candidate c;
    c.set_technician_id(f.technician.id());
    c.set_display_name(f.technician.display_name());
    c.mutable_start_time()->set_seconds(f.slot.start);
    c.mutable_end_time()->set_seconds(f.slot.end);
    c.set_travel_minutes(f.slot.travel_minutes);
    c.set_distance_meters(static_cast<std::int64_t>(f.slot.distance_meters + 0.5));
    c.set_utilisation(f.utilisation);
    return c;
}

std::int64_t NowSeconds() { return NowMicros() / 1000000; }

// A work order made from a support case event has no site until a dispatcher sets one: nothing to search from.
void RequireSite(const v1::WorkOrder& wo) {
    if (!wo.has_site()) {
        throw ApiError::FailedPrecondition("the work order has no site yet: set it with UpdateWorkOrder first",
                                           "SITE_REQUIRED");
    }
}

}  // namespace

std::vector<v1::Candidate> FindCandidates(common::Db& db, const RequestContext& rc, const Settings& settings,
                                          const std::string& work_order_id, int max_candidates) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::WorkOrder wo = workorders::Load(db, tx, rc.tenant_id, work_order_id);
        RequireSite(wo);
        std::vector<v1::Candidate> out;
        for (const auto& f : Search(db, tx, rc.tenant_id, settings, wo, max_candidates, NowSeconds())) {
            out.push_back(ToCandidate(f));
        }
        return out;
    });
}

v1::WorkOrder Dispatch(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const Settings& settings,
                       const v1::DispatchWorkOrderRequest& req, FieldServiceMetrics& metrics) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::WorkOrder current = workorders::Load(db, tx, t, req.work_order_id(), true);
        common::CheckEtag(req.etag(), current.version());
        if (auto rule = domain::CheckDispatch(static_cast<domain::Status>(current.status()))) {
            throw ApiError::FailedPrecondition(rule->message, rule->reason);
        }
        RequireSite(current);
        const std::int64_t now = NowSeconds();
        std::string technician_id = req.technician_id();
        domain::Slot slot;
        if (!technician_id.empty()) {
            const v1::Technician tech = technicians::Load(db, tx, t, technician_id);
            slot = SlotFor(db, tx, t, settings, current, tech, req.has_start_time() ? &req.start_time() : nullptr, now);
        } else {
            const auto best = Search(db, tx, t, settings, current, 1, now);
            if (best.empty()) {
                throw ApiError::FailedPrecondition("no qualified technician is free in the work order's windows",
                                                   "NO_CANDIDATE");
            }
            technician_id = best.front().technician.id();
            slot = best.front().slot;
        }
        Book(db, tx, t, current, technician_id, slot, metrics);
        const v1::WorkOrder booked =
            workorders::Transition(db, tx, rc, current, domain::Status::kScheduled, NowMicros(), "", technician_id);
        ev::WorkOrderScheduled event;
        *event.mutable_work_order() = booked;
        *event.mutable_appointment() = booked.appointment();
        Emit(outbox, tx, rc, "work_order", booked.id(), booked.version(), event, booked.update_time());
        return booked;
    });
}

v1::WorkOrder Reschedule(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const Settings& settings,
                         const v1::RescheduleWorkOrderRequest& req, FieldServiceMetrics& metrics) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::WorkOrder current = workorders::Load(db, tx, t, req.work_order_id(), true);
        common::CheckEtag(req.etag(), current.version());
        if (auto rule = domain::CheckReschedule(static_cast<domain::Status>(current.status()))) {
            throw ApiError::FailedPrecondition(rule->message, rule->reason);
        }
        const std::string technician_id =
            req.technician_id().empty() ? current.appointment().technician_id() : req.technician_id();
        const v1::Technician tech = technicians::Load(db, tx, t, technician_id);
        ReleaseBooking(db, tx, t, current.id());
        const domain::Slot slot = SlotFor(db, tx, t, settings, current, tech,
                                          req.has_start_time() ? &req.start_time() : nullptr, NowSeconds());
        Book(db, tx, t, current, technician_id, slot, metrics);
        const v1::WorkOrder moved = workorders::Touch(db, tx, t, current, technician_id);
        ev::WorkOrderScheduled event;
        *event.mutable_work_order() = moved;
        *event.mutable_appointment() = moved.appointment();
        event.set_rescheduled(true);
        *event.mutable_previous_appointment() = current.appointment();
        Emit(outbox, tx, rc, "work_order", moved.id(), moved.version(), event, moved.update_time());
        return moved;
    });
}

v1::WorkOrder Unassign(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                       const v1::UnassignWorkOrderRequest& req) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::WorkOrder current = workorders::Load(db, tx, t, req.work_order_id(), true);
        common::CheckEtag(req.etag(), current.version());
        if (auto rule = domain::CheckUnassign(static_cast<domain::Status>(current.status()))) {
            throw ApiError::FailedPrecondition(rule->message, rule->reason);
        }
        ReleaseBooking(db, tx, t, current.id());
        const v1::WorkOrder freed =
            workorders::Transition(db, tx, rc, current, domain::Status::kNew, NowMicros(), "", std::nullopt);
        ev::WorkOrderStatusChanged event;
        *event.mutable_work_order() = freed;
        *event.mutable_change() = freed.history(freed.history_size() - 1);
        Emit(outbox, tx, rc, "work_order", freed.id(), freed.version(), event, freed.update_time());
        return freed;
    });
}

std::vector<v1::Appointment> ListAppointments(common::Db& db, const RequestContext& rc,
                                              const std::string& technician_id, std::int64_t from_micros,
                                              std::int64_t to_micros) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Technician tech = technicians::Load(db, tx, rc.tenant_id, technician_id);
        const Actor actor = ActorOf(rc);
        if (actor.technician_only && tech.user_id() != actor.user_id) {
            throw ApiError::NotFound("technician", technician_id);
        }
        std::vector<v1::Appointment> out;
        for (const auto& r :
             db.Exec(tx, sql::kBookedOfTechnicians, rc.tenant_id, UuidArray({technician_id}), from_micros, to_micros)) {
            v1::Appointment a;
            a.set_id(r[0].as<std::string>());
            a.set_work_order_id(r[1].as<std::string>());
            a.set_technician_id(r[2].as<std::string>());
            SetTime(a.mutable_start_time(), r[4]);
            SetTime(a.mutable_end_time(), r[5]);
            a.set_travel_minutes(r[6].as<int>());
            out.push_back(std::move(a));
        }
        return out;
    });
}

void ReleaseBooking(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                    const std::string& work_order_id) {
    db.Exec(tx, sql::kReleaseAppointment, tenant, work_order_id);
}

void FinishBooking(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                   const std::string& work_order_id) {
    db.Exec(tx, sql::kFinishAppointment, tenant, work_order_id);
}

}  // namespace crm::fieldservice::scheduling
