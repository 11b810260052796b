#pragma once
// Field-service KPIs (GetFieldKpis) from the field facts (field_facts.hpp). Pure: no I/O, unit-tested
// (tests/field_kpis_test.cpp). Definitions: services/analytics/README.md, "Field KPIs".
//
// Completions count in the period of their completion time, attributed to the technician of their appointment and
// to that technician's territory (as of the period's end). A technician's state is its last version (by version)
// with occurred_at < end.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "domain/field_facts.hpp"
#include "domain/measures.hpp"

namespace crm::analytics::domain {

struct FieldQuery {
    Micros start = 0;           // inclusive
    Micros end = 0;             // exclusive
    std::string technician_id;  // empty: any
    std::string territory;      // empty: any
};

struct FieldKpiSet {
    Counts first_time_fix;         // completions fixed on the first visit / completions
    Durations time_to_complete;    // creation -> completion
    Durations on_site;             // arrival -> completion
    Durations travel;              // en route -> arrival
    Counts window_kept;            // arrivals inside a customer window / completions that had windows
    int64_t worked_micros = 0;     // travel + on site of the completions
    int64_t available_micros = 0;  // working hours in the period, less time off (technicians only)
    bool operator==(const FieldKpiSet&) const = default;
};

struct FieldKpiReport {
    FieldKpiSet total;
    std::map<std::string, FieldKpiSet> technicians;  // "" = no technician known
    std::map<std::string, FieldKpiSet> territories;  // "" = none
    bool operator==(const FieldKpiReport&) const = default;
};

// Working time of a technician in [from, to): their weekly hours in their time zone (DST included), less time off.
// An unknown time zone counts as UTC.
Micros AvailableMicros(const TechnicianVersion& t, Micros from, Micros to);

// Facts in any order, duplicates (same work order, version, event id; same technician, version, event id) allowed.
FieldKpiReport ComputeFieldKpis(const std::vector<WorkCompletion>& completions,
                                const std::vector<TechnicianVersion>& technicians, const FieldQuery& query);

}  // namespace crm::analytics::domain
