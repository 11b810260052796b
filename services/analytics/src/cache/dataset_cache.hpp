#pragma once
// The tenants' folded facts kept in memory between KPI reads, brought up to date incrementally.
//
// Get(rc) returns the caller's tenant's Dataset as of now: every fact committed before the call is in it, as if the
// read models had been loaded and folded for this call (what the service did on every call before), but
//   * a tenant read before is brought up to date from the fact rows committed since (one statement when nothing
//     changed; else the changed aggregates' versions, folded again: domain::IncrementalDataset);
//   * a tenant whose facts were deleted or rewritten since (a rebuild's swap, a repair; a generation bumped in the
//     same transaction, see migrations/0003_incremental_reads.sql) or that is not cached is loaded whole.
// Each read is pinned to one PostgreSQL snapshot (facts::ReadPoint): the facts folded are exactly those of that
// snapshot, and the read is retried when a rewrite committed while it ran. Callers get an immutable view; a refresh
// builds the next view beside it, so no reader sees a half-applied change. Refreshes of one tenant run one at a time
// (a call waits for the one in progress, then reads what committed meanwhile); other tenants are not held up.
// Nothing is shared between replicas: each one keeps and checks its own.
//
// Memory is bounded by max_bytes (estimated heap of the folded timelines): least recently used tenants are dropped
// first; a tenant larger than the whole budget is folded for its call and not kept. max_bytes = 0 turns the cache
// off (every call loads and folds its tenant's facts, as before).
//
// Metrics: crm_analytics_cache_lookups_total{result} (hit: nothing new; incremental: new facts applied; miss: not
// cached; invalidated: facts rewritten, reloaded), crm_analytics_cache_fact_rows_read_total{mode} (rows read by
// incremental refreshes and by whole loads), crm_analytics_cache_bytes, crm_analytics_cache_tenants,
// crm_analytics_cache_evictions_total.
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace crm::common {
class Db;
class Metrics;
struct RequestContext;
}  // namespace crm::common

namespace crm::analytics::domain {
struct Dataset;
}

namespace crm::analytics::cache {

struct CacheSettings {
    size_t max_bytes = 512u << 20;
};

class DatasetCache {
  public:
    DatasetCache(common::Db& db, common::Metrics& metrics, CacheSettings settings);
    ~DatasetCache();
    DatasetCache(const DatasetCache&) = delete;
    DatasetCache& operator=(const DatasetCache&) = delete;

    std::shared_ptr<const domain::Dataset> Get(const common::RequestContext& rc);

  private:
    struct Entry;
    struct Instruments;

    std::shared_ptr<const domain::Dataset> Refresh(const common::RequestContext& rc, Entry& entry);
    std::shared_ptr<Entry> Acquire(const std::string& tenant);
    void Account(const std::string& tenant, const std::shared_ptr<Entry>& entry, size_t bytes);

    common::Db& db_;
    CacheSettings settings_;
    std::unique_ptr<Instruments> metrics_;
    std::mutex mutex_;  // entries_, lru_, total_bytes_, Entry::bytes and Entry::cached
    std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
    std::list<std::string> lru_;  // most recently used first
    size_t total_bytes_ = 0;
};

}  // namespace crm::analytics::cache
