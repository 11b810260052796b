#pragma once
// Facts of the field-service read model (topic crm.fieldservice.v1): one row per completed work order
// (WorkOrderCompleted, with the times of its status transitions) and one row per technician event (territory, time
// zone, working hours and time off, for utilisation). Pure data: no I/O, no protobuf.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crm::analytics::domain {

using Micros = int64_t;

// A work order's completion. Travel and on-site time come from its status transitions (EN_ROUTE -> ON_SITE ->
// COMPLETED); when the transitions are missing, from the event's booked travel and on-site duration.
struct WorkCompletion {
    std::string work_order_id;
    int64_t version = 0;
    std::string event_id;
    Micros completed_at = 0;
    Micros created_at = 0;
    std::string technician_id;
    bool first_time_fix = false;
    Micros travel_micros = 0;
    Micros on_site_micros = 0;
    std::optional<Micros> arrived_at;  // ON_SITE
    bool has_windows = false;          // the customer gave arrival windows
    bool window_kept = false;          // arrival inside one of them
    bool operator==(const WorkCompletion&) const = default;
};

// Working hours of one weekday (0 = Sunday), minutes after local midnight, [start, end).
struct WorkingHours {
    int weekday = 0;
    int start_minute = 0;
    int end_minute = 0;
    bool operator==(const WorkingHours&) const = default;
};

struct TimeOff {
    Micros start = 0;
    Micros end = 0;
    bool operator==(const TimeOff&) const = default;
};

// A technician event: the technician's snapshot after the change.
struct TechnicianVersion {
    std::string technician_id;
    int64_t version = 0;
    std::string event_id;
    Micros occurred_at = 0;
    std::string territory;
    std::string time_zone;
    bool active = true;
    std::vector<WorkingHours> working_hours;
    std::vector<TimeOff> time_off;
    bool operator==(const TechnicianVersion&) const = default;
};

struct FieldFacts {
    std::vector<WorkCompletion> completions;
    std::vector<TechnicianVersion> technicians;
    bool empty() const { return completions.empty() && technicians.empty(); }
    void Append(const FieldFacts& other) {
        completions.insert(completions.end(), other.completions.begin(), other.completions.end());
        technicians.insert(technicians.end(), other.technicians.begin(), other.technicians.end());
    }
};

}  // namespace crm::analytics::domain
