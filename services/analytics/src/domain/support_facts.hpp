#pragma once
// Facts of the support read model (topic crm.support.v1): one row per case event (every support payload carries the
// case snapshot at its version) and one row per CSAT answer. Pure data: no I/O, no protobuf.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crm::analytics::domain {

using Micros = int64_t;

enum class CaseState { kNew, kOpen, kPendingCustomer, kOnHold, kSolved, kClosed, kMerged };
enum class SlaClock { kFirstResponse, kResolution };

// One SLA clock of a case as an event stated it (support's sla_clocks): business seconds of the tenant's calendar,
// pauses excluded, up to the event (or to the clock's stop).
struct SlaFigure {
    int64_t target_seconds = 0;
    int64_t elapsed_seconds = 0;
    bool stopped = false;   // the first reply (first response) or the solve (resolution) stopped it
    bool breached = false;  // its target passed
    bool operator==(const SlaFigure&) const = default;
};

// One event of a case: the snapshot it carries and what the event itself says.
struct CaseVersion {
    std::string case_id;
    int64_t version = 0;
    std::string event_id;
    Micros occurred_at = 0;
    std::string event_type;  // the payload's name, e.g. "CaseStatusChanged"
    std::optional<CaseState> status;
    std::string queue_id;
    std::string assignee_id;
    std::optional<Micros> created_at;
    std::optional<Micros> first_response_at;
    std::optional<Micros> solved_at;
    std::optional<Micros> closed_at;
    bool reopened = false;                   // CaseStatusChanged: a solved case went back to open
    std::optional<SlaClock> breached_clock;  // SlaBreached: which clock
    // The case's clocks after the event (CaseMessageAdded, CaseStatusChanged, SlaBreached); nullopt: the event states
    // none (another event type, or the case has no SLA target for that clock).
    std::optional<SlaFigure> first_response_sla;
    std::optional<SlaFigure> resolution_sla;
    bool operator==(const CaseVersion&) const = default;
};

// A satisfaction survey answer (CsatRecorded): who solved the case and in which queue when the survey was sent.
struct CsatAnswer {
    std::string survey_id;
    std::string case_id;
    std::string event_id;
    Micros answered_at = 0;
    int score = 0;  // 1..5
    std::string agent_id;
    std::string queue_id;
    bool operator==(const CsatAnswer&) const = default;
};

struct SupportFacts {
    std::vector<CaseVersion> cases;
    std::vector<CsatAnswer> csat;
    bool empty() const { return cases.empty() && csat.empty(); }
    void Append(const SupportFacts& other) {
        cases.insert(cases.end(), other.cases.begin(), other.cases.end());
        csat.insert(csat.end(), other.csat.begin(), other.csat.end());
    }
};

const char* ToString(CaseState state);
std::optional<CaseState> CaseStateFrom(const std::string& text);
const char* ToString(SlaClock clock);
std::optional<SlaClock> SlaClockFrom(const std::string& text);

}  // namespace crm::analytics::domain
