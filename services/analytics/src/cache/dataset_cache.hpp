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
// Warm-up: a replica records the tenants it reads (analytics_kpi_cache_tenants: when, and the size of the fold; on a
// load, then at most hourly). WarmRecent() loads, in a background thread, the tenants any replica read in the last
// warm_days, the most recently read first, as long as their recorded size fits the budget beside what is cached: after
// a start, their first read finds them folded (a read of a tenant being loaded waits for that load, as for any
// refresh in progress, and is then served from it). Rewarm(tenant) loads a tenant this replica caches again in the
// background (after a rebuild's swap, which rewrote its facts). A warm-up load is the same refresh a read does (the
// same snapshot rules, so answers are the ones a cold read would give), counted as the miss or invalidation it is.
//
// Metrics: crm_analytics_cache_lookups_total{result} (hit: nothing new; incremental: new facts applied; miss: not
// cached; invalidated: facts rewritten, reloaded), crm_analytics_cache_fact_rows_read_total{mode} (rows read by
// incremental refreshes and by whole loads), crm_analytics_cache_bytes, crm_analytics_cache_tenants,
// crm_analytics_cache_evictions_total.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
    // WarmRecent() loads the tenants read in the last warm_days (0: none).
    int warm_days = 7;
    // At most this many tenants per warm-up.
    int warm_max_tenants = 1000;
};

class DatasetCache {
  public:
    DatasetCache(common::Db& db, common::Metrics& metrics, CacheSettings settings);
    ~DatasetCache();
    DatasetCache(const DatasetCache&) = delete;
    DatasetCache& operator=(const DatasetCache&) = delete;

    std::shared_ptr<const domain::Dataset> Get(const common::RequestContext& rc);

    // Background loads (see the top of this file); both return at once.
    void WarmRecent();
    void Rewarm(const std::string& tenant);

  private:
    struct Entry;
    struct Instruments;

    std::shared_ptr<const domain::Dataset> Refresh(const common::RequestContext& rc, Entry& entry);
    std::shared_ptr<Entry> Acquire(const std::string& tenant);
    void Account(const std::string& tenant, const std::shared_ptr<Entry>& entry, size_t bytes);
    void RecordRead(const common::RequestContext& rc, size_t bytes);
    void StartWarmer();  // with warm_mutex_ held
    void WarmLoop();
    void WarmRecentNow();
    // Loads the tenant unless it is loaded (only_cached: only when this replica caches it, and refreshed then).
    void WarmTenant(const std::string& tenant, bool only_cached);

    common::Db& db_;
    CacheSettings settings_;
    std::unique_ptr<Instruments> metrics_;
    std::mutex mutex_;  // entries_, lru_, total_bytes_, Entry::bytes and Entry::cached
    std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
    std::list<std::string> lru_;  // most recently used first
    size_t total_bytes_ = 0;

    std::mutex warm_mutex_;  // the warmer's queue and state
    std::condition_variable warm_cv_;
    std::deque<std::string> warm_queue_;  // tenants to Rewarm
    bool warm_recent_ = false;            // WarmRecent() asked, not started yet
    bool stopping_ = false;
    std::thread warmer_;
};

}  // namespace crm::analytics::cache
