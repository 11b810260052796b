#include "field_kpis/projector.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/fieldservice/events/v1/events.pb.h>

#include "projection/projector.hpp"
#include "projection/proto_time.hpp"

namespace crm::analytics::field {

namespace {

namespace fev = crm::fieldservice::events::v1;
namespace fv1 = crm::fieldservice::v1;
using projection::OccurredAt;
using projection::ToMicros;
using projection::UninterpretableEvent;
using projection::Unpack;
using projection::UuidOrEmpty;

constexpr domain::Micros kMicrosPerSecond = 1000000;

std::string Id(const common::v1::EventEnvelope& env, const std::string& id, const char* what) {
    std::string out = UuidOrEmpty(id);
    if (out.empty()) out = UuidOrEmpty(env.aggregate_id());
    if (out.empty()) throw UninterpretableEvent(env.event_type() + " without a valid " + what + " id");
    if (env.aggregate_version() < 1) throw UninterpretableEvent(env.event_type() + " without an aggregate version");
    return out;
}

// The last time the work order entered `status` at or before `until` (history in order of change).
std::optional<domain::Micros> Entered(const fv1::WorkOrder& w, fv1::WorkOrderStatus status, domain::Micros until) {
    std::optional<domain::Micros> at;
    for (const auto& change : w.history()) {
        if (change.to_status() != status || !change.has_change_time()) continue;
        const domain::Micros t = ToMicros(change.change_time());
        if (t <= until) at = t;
    }
    return at;
}

domain::WorkCompletion Completion(const common::v1::EventEnvelope& env, const fev::WorkOrderCompleted& e) {
    const fv1::WorkOrder& w = e.work_order();
    domain::WorkCompletion c;
    c.work_order_id = Id(env, w.id(), "work order");
    c.version = env.aggregate_version();
    c.event_id = env.event_id();
    if (w.has_completion() && w.completion().has_complete_time()) {
        c.completed_at = ToMicros(w.completion().complete_time());
    } else {
        c.completed_at = Entered(w, fv1::WORK_ORDER_STATUS_COMPLETED, INT64_MAX).value_or(OccurredAt(env));
    }
    c.created_at = w.has_create_time() ? ToMicros(w.create_time()) : c.completed_at;
    c.technician_id = w.appointment().technician_id();
    c.first_time_fix = e.first_time_fix();
    c.arrived_at = Entered(w, fv1::WORK_ORDER_STATUS_ON_SITE, c.completed_at);
    const auto en_route = c.arrived_at ? Entered(w, fv1::WORK_ORDER_STATUS_EN_ROUTE, *c.arrived_at) : std::nullopt;
    if (e.duration_seconds() < 0 || e.travel_seconds() < 0) {
        throw UninterpretableEvent("WorkOrderCompleted with a negative duration");
    }
    c.on_site_micros = c.arrived_at ? c.completed_at - *c.arrived_at : e.duration_seconds() * kMicrosPerSecond;
    c.travel_micros = (c.arrived_at && en_route) ? *c.arrived_at - *en_route : e.travel_seconds() * kMicrosPerSecond;
    c.has_windows = w.time_windows_size() > 0;
    c.window_kept = c.has_windows && e.window_kept();
    return c;
}

domain::TechnicianVersion Technician(const common::v1::EventEnvelope& env, const fv1::Technician& t) {
    domain::TechnicianVersion v;
    v.technician_id = Id(env, t.id(), "technician");
    v.version = env.aggregate_version();
    v.event_id = env.event_id();
    v.occurred_at = OccurredAt(env);
    v.territory = t.territory();
    v.time_zone = t.time_zone();
    v.active = t.active();
    for (const auto& h : t.working_hours()) {
        if (h.weekday() < 0 || h.weekday() > 6 || h.start_minute() < 0 || h.end_minute() > 1440 ||
            h.end_minute() <= h.start_minute()) {
            throw UninterpretableEvent(env.event_type() + " with working hours outside a day");
        }
        v.working_hours.push_back({h.weekday(), h.start_minute(), h.end_minute()});
    }
    for (const auto& o : t.time_off()) {
        if (!o.window().has_start_time() || !o.window().has_end_time()) continue;
        v.time_off.push_back({ToMicros(o.window().start_time()), ToMicros(o.window().end_time())});
    }
    return v;
}

}  // namespace

domain::FieldFacts Project(const common::v1::EventEnvelope& env) {
    const std::string type = env.event_type().substr(sizeof(kEventPrefix) - 1);
    domain::FieldFacts f;
    if (type == "WorkOrderCompleted") {
        f.completions.push_back(Completion(env, Unpack<fev::WorkOrderCompleted>(env)));
    } else if (type == "TechnicianCreated") {
        f.technicians.push_back(Technician(env, Unpack<fev::TechnicianCreated>(env).technician()));
    } else if (type == "TechnicianUpdated") {
        f.technicians.push_back(Technician(env, Unpack<fev::TechnicianUpdated>(env).technician()));
    }
    // Other work order events (the completion carries its transitions), parts, stock and visit categories feed no
    // field KPI.
    return f;
}

}  // namespace crm::analytics::field
