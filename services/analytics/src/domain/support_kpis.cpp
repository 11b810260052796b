#include "domain/support_kpis.hpp"

#include <algorithm>
#include <tuple>

#include "domain/kpis.hpp"

namespace crm::analytics::domain {

namespace {

constexpr int64_t kMicrosPerSecondValue = 1000000;

bool Open(const std::optional<CaseState>& s) {
    return s && (*s == CaseState::kNew || *s == CaseState::kOpen || *s == CaseState::kPendingCustomer ||
                 *s == CaseState::kOnHold);
}
bool Resolved(const std::optional<CaseState>& s) { return s && (*s == CaseState::kSolved || *s == CaseState::kClosed); }
bool Solved(const std::optional<CaseState>& s) { return s && *s == CaseState::kSolved; }

class Report {
  public:
    explicit Report(const SupportQuery& q) : q_(q) {}

    // Calls `add` on the total and the queue's and agent's sets when the attribution passes the filters.
    template <class F>
    void Add(const std::string& queue, const std::string& agent, F add) {
        if (!q_.queue_id.empty() && queue != q_.queue_id) return;
        if (!q_.agent_id.empty() && agent != q_.agent_id) return;
        add(out_.total);
        add(out_.queues[queue]);
        add(out_.agents[agent]);
    }
    bool InPeriod(Micros t) const { return t >= q_.start && t < q_.end; }
    SupportKpiReport Take() { return std::move(out_); }

  private:
    const SupportQuery& q_;
    SupportKpiReport out_;
};

void AddDuration(Durations& d, Micros from, Micros to) {
    ++d.count;
    d.total_micros += std::max<Micros>(0, to - from);
}

// The clock a stop left: the first version from `from` on whose figure for that clock is stopped.
std::optional<SlaFigure> StoppedClock(const std::vector<const CaseVersion*>& v, size_t from,
                                      std::optional<SlaFigure> CaseVersion::*clock) {
    for (size_t i = from; i < v.size(); ++i) {
        const auto& figure = v[i]->*clock;
        if (figure && figure->stopped) return figure;
    }
    return std::nullopt;
}

// How a clock's stop counts for attainment: met, breached (the stop came after the target before the scheduler's
// breach event: counted here, at the stop), already counted as a breach (its SlaBreached event), or no SLA (no clock
// and no breach: the case had no target, so it is neither met nor breached).
enum class Attainment { kMet, kLateBreach, kBreachCounted, kNoSla };
Attainment Judge(bool breach_event, const std::optional<SlaFigure>& clock) {
    if (breach_event) return Attainment::kBreachCounted;
    if (!clock) return Attainment::kNoSla;
    return clock->breached || clock->elapsed_seconds > clock->target_seconds ? Attainment::kLateBreach
                                                                             : Attainment::kMet;
}

void Count(Attainment a, Counts& sla, int64_t& no_sla) {
    if (a == Attainment::kMet) {
        ++sla.numerator;
        ++sla.denominator;
    } else if (a == Attainment::kLateBreach) {
        ++sla.denominator;
    } else if (a == Attainment::kNoSla) {
        ++no_sla;
    }
}

// One case's versions, sorted by version (then event id), duplicates removed.
void FoldCase(const std::vector<const CaseVersion*>& all, const SupportQuery& q, Report& report) {
    // Before the period's end, and at as_of.
    std::vector<const CaseVersion*> v;
    for (const auto* c : all) {
        if (c->occurred_at < q.end) v.push_back(c);
    }
    const CaseVersion* at_as_of = nullptr;
    for (const auto* c : all) {
        if (c->occurred_at <= q.as_of) at_as_of = c;  // sorted: the last one wins
    }
    if (at_as_of && Open(at_as_of->status)) {
        report.Add(at_as_of->queue_id, at_as_of->assignee_id, [](SupportKpiSet& s) { ++s.backlog; });
    }
    if (v.empty()) return;
    const CaseVersion& last = *v.back();
    std::optional<Micros> created;
    for (const auto* c : v) {
        if (c->created_at) created = c->created_at;  // the latest stated value
    }
    bool breached[2] = {false, false};
    for (const auto* c : v) {
        if (!c->breached_clock) continue;
        const int clock = *c->breached_clock == SlaClock::kFirstResponse ? 0 : 1;
        breached[clock] = true;
        if (report.InPeriod(c->occurred_at)) {
            report.Add(c->queue_id, c->assignee_id, [clock](SupportKpiSet& s) {
                ++(clock == 0 ? s.first_response_sla : s.resolution_sla).denominator;
            });
        }
    }
    // First response: the first version stating the case's (latest) first response time made it; its business time
    // is the first-response clock that version (or the next stating it) reports stopped.
    if (last.first_response_at && created && report.InPeriod(*last.first_response_at)) {
        const size_t i = static_cast<size_t>(
            std::find_if(v.begin(), v.end(),
                         [&](const CaseVersion* c) { return c->first_response_at == last.first_response_at; }) -
            v.begin());
        const auto* by = v[i];
        const Micros at = *last.first_response_at;
        const auto clock = StoppedClock(v, i, &CaseVersion::first_response_sla);
        const Attainment judged = Judge(breached[0], clock);
        report.Add(by->queue_id, by->assignee_id, [&](SupportKpiSet& s) {
            AddDuration(s.first_response, *created, at);
            if (clock) AddDuration(s.first_response_business, 0, clock->elapsed_seconds * kMicrosPerSecondValue);
            Count(judged, s.first_response_sla, s.first_response_no_sla);
        });
    }
    // Resolution: solved (or closed after it) at the end, by its last solve.
    if (Resolved(last.status) && last.solved_at && created && report.InPeriod(*last.solved_at)) {
        const size_t i = static_cast<size_t>(
            std::find_if(v.begin(), v.end(), [&](const CaseVersion* c) { return c->solved_at == last.solved_at; }) -
            v.begin());
        const auto* by = v[i];
        const Micros at = *last.solved_at;
        const auto clock = StoppedClock(v, i, &CaseVersion::resolution_sla);
        const Attainment judged = Judge(breached[1], clock);
        report.Add(by->queue_id, by->assignee_id, [&](SupportKpiSet& s) {
            AddDuration(s.resolution, *created, at);
            if (clock) AddDuration(s.resolution_business, 0, clock->elapsed_seconds * kMicrosPerSecondValue);
            Count(judged, s.resolution_sla, s.resolution_no_sla);
        });
    }
    // Reopen rate: every solve (a version that is solved after one that was not) in the period, and whether the next
    // version leaving "solved" was a reopen.
    for (size_t i = 0; i < v.size(); ++i) {
        if (!Solved(v[i]->status) || (i > 0 && Solved(v[i - 1]->status))) continue;
        if (!report.InPeriod(v[i]->occurred_at)) continue;
        bool reopened = false;
        for (size_t j = i + 1; j < v.size(); ++j) {
            if (Solved(v[j]->status) || !v[j]->status) continue;
            reopened = v[j]->reopened || Open(v[j]->status);
            break;
        }
        report.Add(v[i]->queue_id, v[i]->assignee_id, [reopened](SupportKpiSet& s) {
            ++s.reopen.denominator;
            if (reopened) ++s.reopen.numerator;
        });
    }
}

}  // namespace

int64_t Durations::TotalSeconds() const { return RoundedDiv(total_micros, kMicrosPerSecondValue); }

int64_t Durations::AverageSeconds() const {
    if (count == 0) return 0;
    return RoundedDiv(total_micros, count * kMicrosPerSecondValue);
}

SupportKpiReport ComputeSupportKpis(const std::vector<CaseVersion>& versions, const std::vector<CsatAnswer>& csat,
                                    const SupportQuery& query) {
    Report report(query);
    std::vector<const CaseVersion*> sorted;
    sorted.reserve(versions.size());
    for (const auto& v : versions) sorted.push_back(&v);
    std::sort(sorted.begin(), sorted.end(), [](const CaseVersion* a, const CaseVersion* b) {
        return std::tie(a->case_id, a->version, a->event_id) < std::tie(b->case_id, b->version, b->event_id);
    });
    sorted.erase(std::unique(sorted.begin(), sorted.end(),
                             [](const CaseVersion* a, const CaseVersion* b) {
                                 return std::tie(a->case_id, a->version, a->event_id) ==
                                        std::tie(b->case_id, b->version, b->event_id);
                             }),
                 sorted.end());
    for (size_t i = 0; i < sorted.size();) {
        size_t j = i;
        while (j < sorted.size() && sorted[j]->case_id == sorted[i]->case_id) ++j;
        FoldCase({sorted.begin() + static_cast<std::ptrdiff_t>(i), sorted.begin() + static_cast<std::ptrdiff_t>(j)},
                 query, report);
        i = j;
    }
    // One answer per survey: when a survey shows up twice, its earliest answer (then the smallest event id) counts.
    std::vector<const CsatAnswer*> answers;
    for (const auto& a : csat) answers.push_back(&a);
    std::sort(answers.begin(), answers.end(), [](const CsatAnswer* a, const CsatAnswer* b) {
        return std::tie(a->survey_id, a->answered_at, a->event_id) <
               std::tie(b->survey_id, b->answered_at, b->event_id);
    });
    for (size_t i = 0; i < answers.size(); ++i) {
        const CsatAnswer& a = *answers[i];
        if (i > 0 && answers[i - 1]->survey_id == a.survey_id) continue;
        if (!report.InPeriod(a.answered_at)) continue;
        report.Add(a.queue_id, a.agent_id, [&a](SupportKpiSet& s) {
            ++s.csat_responses;
            s.csat_score_sum += a.score;
            if (a.score >= 4) ++s.csat_satisfied;
        });
    }
    return report.Take();
}

const char* ToString(CaseState state) {
    switch (state) {
        case CaseState::kNew:
            return "NEW";
        case CaseState::kOpen:
            return "OPEN";
        case CaseState::kPendingCustomer:
            return "PENDING_CUSTOMER";
        case CaseState::kOnHold:
            return "ON_HOLD";
        case CaseState::kSolved:
            return "SOLVED";
        case CaseState::kClosed:
            return "CLOSED";
        case CaseState::kMerged:
            return "MERGED";
    }
    return "NEW";
}

std::optional<CaseState> CaseStateFrom(const std::string& text) {
    for (CaseState s : {CaseState::kNew, CaseState::kOpen, CaseState::kPendingCustomer, CaseState::kOnHold,
                        CaseState::kSolved, CaseState::kClosed, CaseState::kMerged}) {
        if (text == ToString(s)) return s;
    }
    return std::nullopt;
}

const char* ToString(SlaClock clock) { return clock == SlaClock::kFirstResponse ? "FIRST_RESPONSE" : "RESOLUTION"; }

std::optional<SlaClock> SlaClockFrom(const std::string& text) {
    if (text == "FIRST_RESPONSE") return SlaClock::kFirstResponse;
    if (text == "RESOLUTION") return SlaClock::kResolution;
    return std::nullopt;
}

}  // namespace crm::analytics::domain
