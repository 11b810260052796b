#pragma once
// KPI math over the facts of one tenant: pure functions, no I/O, unit-tested in tests/kpis_test.cpp.
//
// Folding. An aggregate's versions are sorted by version number (not by arrival), and each version's stated fields
// overwrite the state of the previous one. Two events of one version (sales publishes OpportunityStageChanged and
// OpportunityWon in one transaction) are folded stage change first, closing event last. The result is a timeline of
// segments: version v is the state from its occurred_at (valid_from) until the next version's occurred_at (valid_to).
// StateAt(t) is the last segment with valid_from <= t. Duplicated versions (same number) are folded once.
//
// Money is summed per currency in int64 minor units (weighted sums in 128-bit) and never converted; averages and
// weighted values are rounded once, half away from zero. Ratios keep their exact counts.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "domain/facts.hpp"

namespace crm::analytics::domain {

constexpr Micros kMicrosPerSecond = 1000000;
constexpr Micros kMicrosPerDay = 86400 * kMicrosPerSecond;

struct Period {
    Micros start = 0;  // inclusive
    Micros end = 0;    // exclusive
};

struct Filter {
    std::string pipeline_id;
    std::string owner_id;
    std::string source;
    std::string campaign_id;
};

// 00:00 UTC of a civil date (proleptic Gregorian).
Micros CivilDayStart(int64_t year, unsigned month, unsigned day);

// num / den rounded half away from zero; den > 0.
int64_t RoundedDiv(__int128 num, int64_t den);

// ------------------------------------------------------------------------------------------------------------------
// Folded aggregates

struct OpportunityState {
    std::string pipeline_id, stage_id, stage_name, currency_code, owner_id, lead_id, source, campaign_id;
    int probability_bp = 0;
    DealStatus status = DealStatus::kOpen;
    int64_t amount_minor = 0;
    std::optional<Micros> expected_close_at;
    std::optional<Micros> closed_at;
    std::optional<Micros> deleted_at;
    bool operator==(const OpportunityState&) const = default;
};

struct OpportunitySegment {
    Micros valid_from = 0;
    Micros valid_to = 0;  // INT64_MAX for the current version
    OpportunityState state;
    // The version stated no source (campaign): state.source (campaign_id) is the deal's lead's, and is taken again
    // when that lead changes (AttributeFromLeads).
    bool source_from_lead = false;
    bool campaign_from_lead = false;
    bool operator==(const OpportunitySegment&) const = default;
};

struct OpportunityTimeline {
    std::string id;
    Micros created_at = 0;  // the first stated created_at, else the first version's occurred_at
    std::vector<OpportunitySegment> segments;

    // The segment in force at t (valid_from <= t < valid_to), or nullptr before the first version.
    const OpportunitySegment* At(Micros t) const;
    // When the deal closed, for a segment with a closed status: its stated closed_at, else the start of the run of
    // segments with that status that the segment belongs to.
    Micros CloseTime(const OpportunitySegment& segment) const;
    bool operator==(const OpportunityTimeline&) const = default;
};

struct LeadState {
    std::string source, campaign_id, owner_id;
    LeadStatus status = LeadStatus::kOpen;
    std::optional<Micros> first_response_at;
    std::optional<Micros> response_due_at;
    std::optional<Micros> converted_at;
    bool operator==(const LeadState&) const = default;
};

struct LeadSegment {
    Micros valid_from = 0;
    Micros valid_to = 0;
    LeadState state;
    bool operator==(const LeadSegment&) const = default;
};

struct LeadTimeline {
    std::string id;
    Micros created_at = 0;
    std::vector<LeadSegment> segments;

    const LeadSegment* At(Micros t) const;
    // When a converted lead was converted: the stated converted_at, else the start of its converted run.
    Micros ConversionTime(const LeadSegment& segment) const;
    bool operator==(const LeadTimeline&) const = default;
};

// Lead source and campaign by lead id, for opportunities that do not state their own.
using LeadAttribution = std::map<std::string, std::pair<std::string, std::string>>;
// The folded lead of an id, or nullptr.
using LeadLookup = std::function<const LeadTimeline*(const std::string& lead_id)>;

// Timelines sorted by id.
std::vector<LeadTimeline> FoldLeads(std::vector<LeadVersion> versions);
std::vector<OpportunityTimeline> FoldOpportunities(std::vector<OpportunityVersion> versions,
                                                   const std::vector<LeadTimeline>& leads);
std::vector<OpportunityTimeline> FoldOpportunities(std::vector<OpportunityVersion> versions, const LeadLookup& leads);
// Source and campaign of the segments that state none, from the deal's lead (its latest version), again: what
// FoldOpportunities does last, redone for a deal whose lead changed.
void AttributeFromLeads(OpportunityTimeline& timeline, const LeadLookup& leads);
// Creation time of every record of a kind: the first stated created_at, else the first version's occurred_at.
std::vector<Micros> RecordCreations(const std::vector<RecordVersion>& versions, RecordKind kind);
// The same per record: (record id, creation time), sorted by id.
std::vector<std::pair<std::string, Micros>> RecordCreationsById(const std::vector<RecordVersion>& versions,
                                                                RecordKind kind);

// ------------------------------------------------------------------------------------------------------------------
// KPIs

struct Ratio {
    int64_t numerator = 0;
    int64_t denominator = 0;
    bool operator==(const Ratio&) const = default;
};

struct PipelineRow {
    std::string pipeline_id, stage_id, stage_name, currency_code;
    int64_t count = 0;
    int64_t value_minor = 0;
    int64_t weighted_value_minor = 0;
    bool operator==(const PipelineRow&) const = default;
};

struct DealSizeRow {
    std::string currency_code;
    int64_t won_count = 0;
    int64_t won_value_minor = 0;
    int64_t average_minor = 0;
    bool operator==(const DealSizeRow&) const = default;
};

struct StageDurationRow {
    std::string pipeline_id, stage_id, stage_name;
    int64_t exits = 0;
    int64_t total_seconds = 0;
    int64_t average_seconds = 0;
    bool operator==(const StageDurationRow&) const = default;
};

struct LeadConversionRow {
    std::string source, campaign_id;
    Ratio conversion;  // converted / created
    bool operator==(const LeadConversionRow&) const = default;
};

struct ForecastRow {
    std::string currency_code;
    int64_t forecast_weighted_minor = 0;
    int64_t forecast_value_minor = 0;
    int64_t actual_won_minor = 0;
    bool operator==(const ForecastRow&) const = default;
};

struct Kpis {
    Micros as_of = 0;
    std::vector<PipelineRow> pipeline;
    Ratio win_rate;
    std::vector<DealSizeRow> deal_sizes;
    int64_t sales_cycle_won_count = 0;
    int64_t sales_cycle_total_seconds = 0;
    int64_t sales_cycle_average_seconds = 0;
    std::vector<StageDurationRow> time_in_stage;
    std::vector<LeadConversionRow> lead_conversion;
    Ratio lead_conversion_total;
    int64_t lead_responses = 0;
    int64_t lead_response_total_seconds = 0;
    int64_t lead_response_average_seconds = 0;
    Ratio lead_sla_attainment;
    int64_t new_contacts = 0;
    int64_t new_companies = 0;
    std::vector<ForecastRow> forecast;
    bool operator==(const Kpis&) const = default;
};

class KpiIndex;

// Timelines of a KpiIndex that a later view replaced (see Dataset::index).
struct StaleTimelines {
    std::unordered_set<const void*> all;  // leads and opportunities
    std::vector<const OpportunityTimeline*> opportunities;
};

// The folded facts of one tenant. Timelines are shared and immutable, so that a copy of a Dataset with a few
// aggregates replaced (IncrementalDataset) costs pointers, not folds. Both lists are sorted by id: where a KPI keeps
// one of several stage names, the order decides, and it is the same however the Dataset was made.
struct Dataset {
    std::vector<Micros> contact_creations;  // sorted
    std::vector<Micros> company_creations;  // sorted
    std::vector<std::shared_ptr<const LeadTimeline>> leads;
    std::vector<std::shared_ptr<const OpportunityTimeline>> opportunities;

    const LeadTimeline* FindLead(const std::string& id) const;

    // Optional, set by IncrementalDataset (kpi_index.hpp): an index of the timelines of an earlier view, `fresh_*`
    // the current timelines it does not hold (sorted by id), `stale` those of its timelines replaced since. With it,
    // ComputeKpis looks only at the aggregates that can contribute to the period asked for.
    std::shared_ptr<const KpiIndex> index;
    std::vector<std::shared_ptr<const LeadTimeline>> fresh_leads;
    std::vector<std::shared_ptr<const OpportunityTimeline>> fresh_opportunities;
    std::shared_ptr<const StaleTimelines> stale;
};
Dataset BuildDataset(Facts facts);

// A tenant's Dataset kept up to date by re-folding only the aggregates that changed (the service's cache).
//
// Apply(changed) takes, for every aggregate with a version the Dataset has not seen, ALL of that aggregate's
// versions (the read model's rows of it, not only the new ones): each such aggregate is folded again from scratch,
// exactly as BuildDataset folds it, and replaces its old fold; deals whose lead changed take the lead's new source
// and campaign. The result equals BuildDataset over all facts (tests/incremental_test.cpp checks it on random
// histories). view() is an immutable snapshot: Apply builds the next one beside it (copying pointers, not
// timelines) and swaps it in, so a reader holding a view never sees a half-applied change.
// Views carry a KpiIndex (kpi_index.hpp): built with the first view, then kept with the aggregates changed since as
// `fresh`/`stale`, and built again once more than `reindex_after` aggregates changed (0: max(256, aggregates / 128)).
class IncrementalDataset {
  public:
    explicit IncrementalDataset(Facts facts, size_t reindex_after = 0);
    void Apply(Facts changed);
    std::shared_ptr<const Dataset> view() const { return view_; }
    // Estimated heap bytes held (timelines, their strings, the creation indexes).
    size_t bytes() const { return bytes_; }

  private:
    std::shared_ptr<const Dataset> view_;
    std::map<std::string, Micros> contacts_;   // record id -> creation time
    std::map<std::string, Micros> companies_;  // record id -> creation time
    size_t bytes_ = 0;
    size_t reindex_after_ = 0;
    size_t index_bytes_ = 0;  // the index, and the stale timelines it keeps alive
    void Reindex(Dataset& data);
};

// Period KPIs look at the state just before period.end (or at `now` when that is earlier); the pipeline at as_of.
// With data.index, only the aggregates that can contribute are visited (kpi_index.hpp); the answer is the same as
// ComputeKpisByScan's, which visits every aggregate (the definition; tests compare the two).
Kpis ComputeKpisByScan(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter);
Kpis ComputeKpis(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter);

enum class Granularity { kDay, kWeek, kMonth };
enum class Metric { kNewContacts, kNewCompanies, kLeadsCreated, kLeadsConverted, kDealsWon, kDealsLost, kOpenPipeline };

// Start of the UTC day / ISO week (Monday) / month containing t, and the start of the next bucket.
Micros BucketStart(Granularity g, Micros t);
Micros NextBucket(Granularity g, Micros bucket_start);
// Bucket starts covering the period: from the bucket of period.start to the bucket of period.end - 1.
std::vector<Micros> Buckets(Granularity g, const Period& period);

struct SeriesPoint {
    Micros bucket_start = 0;
    int64_t count = 0;
    std::map<std::string, int64_t> amounts;  // currency -> minor units (money metrics)
    bool operator==(const SeriesPoint&) const = default;
};
// One point per bucket; each bucket is computed as GetKpis would compute that bucket as a period.
std::vector<SeriesPoint> ComputeSeries(const Dataset& data, Metric metric, Granularity g, const Period& period,
                                       Micros now, const Filter& filter);

}  // namespace crm::analytics::domain
