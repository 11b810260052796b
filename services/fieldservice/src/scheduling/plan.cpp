// PlanDay: the best visiting order of a technician's booked day (see scheduling.hpp and domain/route.hpp).
#include <map>

#include "crm/common/errors.hpp"
#include "domain/route.hpp"
#include "scheduling/scheduling.hpp"
#include "scheduling/sql.hpp"
#include "technicians/technicians.hpp"
#include "workorders/workorders.hpp"

namespace crm::fieldservice::scheduling {

v1::PlanDayResponse PlanDay(common::Db& db, const RequestContext& rc, const Settings& settings,
                            const std::string& technician_id, const common::CivilDate& date) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Technician tech = technicians::Load(db, tx, t, technician_id);
        const Actor actor = ActorOf(rc);
        if (actor.technician_only && tech.user_id() != actor.user_id) {
            throw common::ApiError::NotFound("technician", technician_id);
        }
        const domain::Calendar calendar = technicians::CalendarOf(tech);
        // The working day: the first start to the last end of that weekday's hours (the whole day without any).
        const int weekday = static_cast<int>(common::Weekday(date));
        int first = 1440, last = 0;
        for (const auto& h : calendar.hours) {
            if (h.weekday != weekday) continue;
            first = std::min(first, h.start_minute);
            last = std::max(last, h.end_minute);
        }
        if (first >= last) first = 0, last = 1440;
        const common::CivilDate next = common::CivilFromDays(common::DaysFromCivil(date) + 1);
        const std::int64_t midnight = calendar.zone->ToUtc(date, 0), next_midnight = calendar.zone->ToUtc(next, 0);
        domain::Day day{calendar.home, calendar.zone->ToUtc(date, first * 60), calendar.zone->ToUtc(date, last * 60)};

        std::vector<domain::Stop> stops;
        std::vector<std::string> work_orders;
        for (const auto& r : db.Exec(tx, sql::kBookedOfTechnicians, t, UuidArray({technician_id}), midnight * 1000000,
                                     next_midnight * 1000000)) {
            const std::int64_t start = r[4].as<std::int64_t>() / 1000000, end = r[5].as<std::int64_t>() / 1000000;
            if (start < midnight || start >= next_midnight) continue;  // a visit of the day before or after
            const v1::WorkOrder wo = workorders::Load(db, tx, t, r[1].as<std::string>());
            domain::Stop stop{wo.id(), {r[7].as<double>(), r[8].as<double>()}, end - start, {}};
            for (const auto& w : wo.time_windows()) {
                stop.windows.push_back({w.start_time().seconds(), w.end_time().seconds()});
            }
            stops.push_back(std::move(stop));
            work_orders.push_back(wo.id());
        }
        std::vector<std::size_t> booked(stops.size());
        for (std::size_t i = 0; i < booked.size(); ++i) booked[i] = i;  // the statement returns them by start time
        const domain::HaversineTravel travel(settings.speeds.For(tech.territory()));
        const domain::Plan plan = domain::PlanDay(day, stops, booked, travel);

        v1::PlanDayResponse out;
        for (const auto& leg : plan.planned.legs) {
            auto* s = out.add_stops();
            s->set_work_order_id(work_orders[leg.stop]);
            s->mutable_arrival_time()->set_seconds(leg.arrival);
            s->mutable_start_time()->set_seconds(leg.start);
            s->mutable_end_time()->set_seconds(leg.start + stops[leg.stop].duration_seconds);
            s->set_travel_minutes(leg.travel_minutes);
        }
        out.set_planned_travel_minutes(plan.planned.travel_minutes);
        out.set_booked_travel_minutes(plan.booked.travel_minutes);
        out.set_improvement_minutes(plan.booked.travel_minutes - plan.planned.travel_minutes);
        out.set_booked_order_kept(plan.booked_kept);
        out.set_feasible(plan.planned.feasible);
        return out;
    });
}

}  // namespace crm::fieldservice::scheduling
