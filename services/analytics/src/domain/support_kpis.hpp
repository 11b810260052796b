#pragma once
// Support KPIs (GetSupportKpis) from the support facts (support_facts.hpp). Pure: no I/O, unit-tested
// (tests/support_kpis_test.cpp). Definitions: services/analytics/README.md, "Support KPIs".
//
// A case's versions are folded in version order (not arrival order); its state "at T" is its last version with
// occurred_at <= T ("before the end" of a period: occurred_at < end). Every contribution is attributed to one queue
// and one agent: the queue and assignee of the version that made it (the first version stating the first response,
// the solve, the breach, the solve of a reopen pair; the state at as_of for the backlog), and for CSAT the agent and
// queue the answer names.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "domain/measures.hpp"
#include "domain/support_facts.hpp"

namespace crm::analytics::domain {

struct SupportQuery {
    Micros start = 0;      // inclusive
    Micros end = 0;        // exclusive
    Micros as_of = 0;      // the backlog's moment
    std::string queue_id;  // empty: any
    std::string agent_id;  // empty: any
};

struct SupportKpiSet {
    Durations first_response;  // wall-clock: creation to first reply
    Durations resolution;      // wall-clock: creation to solve
    // The same stops in business time (the stopped clock's elapsed seconds), for the cases that had that SLA clock.
    Durations first_response_business;
    Durations resolution_business;
    Counts first_response_sla;  // met / (met + breached), cases with a clock (or a breach) only
    Counts resolution_sla;
    int64_t first_response_no_sla =
        0;                          // first replies of cases without a first-response clock: neither met nor breached
    int64_t resolution_no_sla = 0;  // solves of cases without a resolution clock
    int64_t backlog = 0;
    int64_t csat_responses = 0;
    int64_t csat_score_sum = 0;
    int64_t csat_satisfied = 0;  // scores 4 and 5
    Counts reopen;               // solves followed by a reopen / solves
    bool operator==(const SupportKpiSet&) const = default;
};

struct SupportKpiReport {
    SupportKpiSet total;
    std::map<std::string, SupportKpiSet> queues;  // "" = no queue
    std::map<std::string, SupportKpiSet> agents;  // "" = unassigned
    bool operator==(const SupportKpiReport&) const = default;
};

// Versions and answers in any order, duplicates (same case, version and event id; same survey: its earliest answer
// counts) allowed.
SupportKpiReport ComputeSupportKpis(const std::vector<CaseVersion>& versions, const std::vector<CsatAnswer>& csat,
                                    const SupportQuery& query);

}  // namespace crm::analytics::domain
