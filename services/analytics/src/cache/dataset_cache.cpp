#include "cache/dataset_cache.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <chrono>
#include <vector>

#include "cache/sql.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "domain/kpis.hpp"
#include "facts/store.hpp"

namespace crm::analytics::cache {

namespace {

// A rewrite committing while a read runs makes it start again; after this many, the caller is told to retry.
constexpr int kMaxAttempts = 3;
// Bookkeeping of a tenant entry, counted against the budget even before anything is folded.
constexpr size_t kEntryBytes = 512;
// The longest a read waits for a load of its tenant in progress (bounded by the caller's deadline before that).
constexpr auto kMaxLoadWait = std::chrono::milliseconds(120000);
// A tenant served from the cache records its read again after this long (its row orders the warm-up).
constexpr auto kRecordInterval = std::chrono::hours(1);

size_t FactRows(const domain::Facts& f) { return f.records.size() + f.leads.size() + f.opportunities.size(); }

}  // namespace

struct DatasetCache::Entry {
    std::timed_mutex refresh;  // one refresh at a time per tenant; guards data and at
    std::unique_ptr<domain::IncrementalDataset> data;
    facts::ReadPoint at;                               // the snapshot `data` holds the facts of
    std::chrono::steady_clock::time_point recorded{};  // when this replica last recorded a read of it (RecordRead)
    // Guarded by DatasetCache::mutex_.
    size_t bytes = 0;
    bool cached = true;  // false once evicted: its refresh in flight must not count it again
    std::list<std::string>::iterator lru;
};

struct DatasetCache::Instruments {
    prometheus::Counter& hit;
    prometheus::Counter& incremental;
    prometheus::Counter& miss;
    prometheus::Counter& invalidated;
    prometheus::Counter& rows_delta;
    prometheus::Counter& rows_load;
    prometheus::Counter& evictions;
    prometheus::Gauge& bytes;
    prometheus::Gauge& tenants;

    explicit Instruments(common::Metrics& m)
        : Instruments(m,
                      prometheus::BuildCounter()
                          .Name("crm_analytics_cache_lookups_total")
                          .Help("KPI reads by what the tenant cache did: hit (nothing new), incremental (new facts "
                                "applied), miss (not cached: loaded whole), invalidated (facts rewritten: reloaded).")
                          .Register(m.registry()),
                      prometheus::BuildCounter()
                          .Name("crm_analytics_cache_fact_rows_read_total")
                          .Help("Fact rows read by KPI reads, by mode: delta (versions of the aggregates that "
                                "changed) or load (a tenant loaded whole).")
                          .Register(m.registry())) {}

  private:
    Instruments(common::Metrics& m, prometheus::Family<prometheus::Counter>& lookups,
                prometheus::Family<prometheus::Counter>& rows)
        : hit(lookups.Add({{"service", m.service()}, {"result", "hit"}})),
          incremental(lookups.Add({{"service", m.service()}, {"result", "incremental"}})),
          miss(lookups.Add({{"service", m.service()}, {"result", "miss"}})),
          invalidated(lookups.Add({{"service", m.service()}, {"result", "invalidated"}})),
          rows_delta(rows.Add({{"service", m.service()}, {"mode", "delta"}})),
          rows_load(rows.Add({{"service", m.service()}, {"mode", "load"}})),
          evictions(prometheus::BuildCounter()
                        .Name("crm_analytics_cache_evictions_total")
                        .Help("Tenants dropped from the KPI cache to stay within CRM_ANALYTICS_CACHE_MAX_BYTES.")
                        .Register(m.registry())
                        .Add({{"service", m.service()}})),
          bytes(prometheus::BuildGauge()
                    .Name("crm_analytics_cache_bytes")
                    .Help("Estimated memory held by the KPI cache's folded facts.")
                    .Register(m.registry())
                    .Add({{"service", m.service()}})),
          tenants(prometheus::BuildGauge()
                      .Name("crm_analytics_cache_tenants")
                      .Help("Tenants in the KPI cache.")
                      .Register(m.registry())
                      .Add({{"service", m.service()}})) {}
};

DatasetCache::DatasetCache(common::Db& db, common::Metrics& metrics, CacheSettings settings)
    : db_(db), settings_(settings), metrics_(std::make_unique<Instruments>(metrics)) {}

DatasetCache::~DatasetCache() {
    {
        std::lock_guard lock(warm_mutex_);
        stopping_ = true;
    }
    warm_cv_.notify_all();
    if (warmer_.joinable()) warmer_.join();  // a load in progress finishes first (bounded by the statement timeout)
}

std::shared_ptr<const domain::Dataset> DatasetCache::Get(const common::RequestContext& rc) {
    if (settings_.max_bytes == 0) {
        // Cache off: the tenant's facts loaded and folded for this call.
        domain::Facts facts = db_.InTenant(rc, [&](pqxx::work& tx) { return facts::Load(db_, tx, rc.tenant_id); });
        metrics_->miss.Increment();
        metrics_->rows_load.Increment(static_cast<double>(FactRows(facts)));
        return std::make_shared<const domain::Dataset>(domain::BuildDataset(std::move(facts)));
    }
    const std::shared_ptr<Entry> entry = Acquire(rc.tenant_id);
    std::unique_lock lock(entry->refresh, std::defer_lock);
    // A load in progress (another read's, or the warm-up's) may take longer than one statement: wait for it as long
    // as the caller's deadline allows.
    if (!lock.try_lock_for(rc.Remaining(kMaxLoadWait))) {
        throw common::ApiError::DeadlineExceeded("the tenant's read models are being loaded; try again");
    }
    std::shared_ptr<const domain::Dataset> view;
    try {
        view = Refresh(rc, *entry);
    } catch (...) {
        // A refresh that failed half-way (database error, deadline) leaves nothing half-applied: the entry's data
        // is either untouched or dropped (see Refresh).
        Account(rc.tenant_id, entry, entry->data ? entry->data->bytes() : 0);
        throw;
    }
    const size_t bytes = entry->data ? entry->data->bytes() : 0;
    Account(rc.tenant_id, entry, bytes);
    const auto now = std::chrono::steady_clock::now();
    const bool record =
        entry->recorded == std::chrono::steady_clock::time_point{} || now - entry->recorded > kRecordInterval;
    if (record) entry->recorded = now;
    lock.unlock();
    if (record) RecordRead(rc, bytes);
    return view;
}

void DatasetCache::RecordRead(const common::RequestContext& rc, size_t bytes) {
    try {
        db_.InTenant(
            rc, [&](pqxx::work& tx) { db_.Exec(tx, sql::kRecordRead, rc.tenant_id, static_cast<int64_t>(bytes)); });
    } catch (const std::exception&) {
        // Only the warm-up after the next start misses it; the read itself succeeded.
        common::log::Warn("analytics cache: the read could not be recorded for the warm-up",
                          {{"tenant", rc.tenant_id}});
    }
}

void DatasetCache::WarmRecent() {
    if (settings_.max_bytes == 0 || settings_.warm_days <= 0) return;
    {
        std::lock_guard lock(warm_mutex_);
        warm_recent_ = true;
        StartWarmer();
    }
    warm_cv_.notify_all();
}

void DatasetCache::Rewarm(const std::string& tenant) {
    if (settings_.max_bytes == 0) return;
    {
        std::lock_guard lock(mutex_);
        if (entries_.count(tenant) == 0) return;
    }
    {
        std::lock_guard lock(warm_mutex_);
        warm_queue_.push_back(tenant);
        StartWarmer();
    }
    warm_cv_.notify_all();
}

void DatasetCache::StartWarmer() {
    if (!warmer_.joinable()) warmer_ = std::thread([this] { WarmLoop(); });
}

void DatasetCache::WarmLoop() {
    std::unique_lock lock(warm_mutex_);
    for (;;) {
        warm_cv_.wait(lock, [&] { return stopping_ || warm_recent_ || !warm_queue_.empty(); });
        if (stopping_) return;
        if (warm_recent_) {
            warm_recent_ = false;
            lock.unlock();
            WarmRecentNow();
            lock.lock();
            continue;
        }
        const std::string tenant = std::move(warm_queue_.front());
        warm_queue_.pop_front();
        lock.unlock();
        WarmTenant(tenant, true);
        lock.lock();
    }
}

void DatasetCache::WarmRecentNow() {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, size_t>> recent;
    try {
        db_.InTenant(std::string(), [&](pqxx::work& tx) {
            db_.Exec(tx, sql::kMaintenanceOn);
            for (const auto& row : db_.Exec(tx, sql::kRecentTenants, settings_.warm_days, settings_.warm_max_tenants)) {
                recent.emplace_back(row[0].as<std::string>(), static_cast<size_t>(row[1].as<int64_t>()));
            }
        });
    } catch (const std::exception&) {
        common::log::Warn("analytics cache: the tenants to warm could not be read; no warm-up", {});
        return;
    }
    size_t warmed = 0;
    for (const auto& [tenant, bytes] : recent) {
        {
            std::lock_guard lock(warm_mutex_);
            if (stopping_) return;
        }
        {
            // Only what fits beside what is cached: a warm-up never evicts a tenant.
            std::lock_guard lock(mutex_);
            if (entries_.count(tenant) > 0) continue;
            if (total_bytes_ + kEntryBytes + bytes > settings_.max_bytes) continue;
        }
        WarmTenant(tenant, false);
        ++warmed;
    }
    common::log::Info(
        "analytics cache: warmed",
        {{"tenants", std::to_string(warmed)},
         {"seconds", std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count())}});
}

void DatasetCache::WarmTenant(const std::string& tenant, bool only_cached) {
    std::shared_ptr<Entry> entry;
    if (only_cached) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(tenant);
        if (it == entries_.end()) return;
        entry = it->second;
    } else {
        entry = Acquire(tenant);
    }
    common::RequestContext rc;
    rc.tenant_id = tenant;
    rc.rpc = "CacheWarmUp";
    std::unique_lock lock(entry->refresh);
    if (!only_cached && entry->data) return;  // a read loaded it meanwhile
    try {
        Refresh(rc, *entry);
    } catch (const std::exception&) {
        // The tenant's next read loads it (and reports what fails then).
        common::log::Warn("analytics cache: a warm-up load failed", {{"tenant", tenant}});
    }
    Account(tenant, entry, entry->data ? entry->data->bytes() : 0);
}

std::shared_ptr<const domain::Dataset> DatasetCache::Refresh(const common::RequestContext& rc, Entry& entry) {
    enum class Kind { kHit, kIncremental, kLoad };
    struct Read {
        Kind kind = Kind::kLoad;
        facts::ReadPoint at;
        domain::Facts facts;
    };
    const bool cached = entry.data != nullptr;
    Read read = db_.InTenant(rc, [&](pqxx::work& tx) {
        for (int attempt = 1;; ++attempt) {
            Read r;
            if (cached && attempt == 1) {
                auto [at, changes] = facts::NowSince(db_, tx, rc.tenant_id, entry.at);
                r.at = std::move(at);
                if (r.at.Rewritten(entry.at)) {
                    r.kind = Kind::kLoad;
                    r.facts = facts::LoadAt(db_, tx, rc.tenant_id, r.at);
                } else if (!changes.any()) {
                    r.kind = Kind::kHit;  // one statement, one snapshot: nothing to check again
                    return r;
                } else {
                    r.kind = Kind::kIncremental;
                    r.facts = facts::LoadChanged(db_, tx, rc.tenant_id, entry.at, r.at, changes);
                }
            } else {
                r.at = facts::Now(db_, tx, rc.tenant_id);
                r.facts = facts::LoadAt(db_, tx, rc.tenant_id, r.at);
            }
            // The reads after the point's statement filter by its snapshot, which a delete committed meanwhile
            // would defeat (its rows are gone from the later statements' view): such a delete bumped the
            // generation (or a TRUNCATE the file node) in its own transaction, which shows here.
            if (!facts::Now(db_, tx, rc.tenant_id).Rewritten(r.at)) return r;
            if (attempt == kMaxAttempts) {
                throw common::ApiError::Unavailable("the tenant's read models are being rewritten; try again");
            }
        }
    });
    switch (read.kind) {
        case Kind::kHit:
            metrics_->hit.Increment();
            entry.at = read.at;  // nothing new up to this later snapshot: the next delta starts from here
            return entry.data->view();
        case Kind::kIncremental:
            metrics_->incremental.Increment();
            metrics_->rows_delta.Increment(static_cast<double>(FactRows(read.facts)));
            try {
                entry.data->Apply(std::move(read.facts));
            } catch (...) {
                entry.data.reset();  // its indexes may be half-updated: load whole next time
                throw;
            }
            entry.at = read.at;
            return entry.data->view();
        case Kind::kLoad:
            break;
    }
    (cached ? metrics_->invalidated : metrics_->miss).Increment();
    metrics_->rows_load.Increment(static_cast<double>(FactRows(read.facts)));
    entry.data.reset();
    entry.data = std::make_unique<domain::IncrementalDataset>(std::move(read.facts));
    entry.at = read.at;
    return entry.data->view();
}

std::shared_ptr<DatasetCache::Entry> DatasetCache::Acquire(const std::string& tenant) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(tenant);
    if (it != entries_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second->lru);
        return it->second;
    }
    auto entry = std::make_shared<Entry>();
    lru_.push_front(tenant);
    entry->lru = lru_.begin();
    entry->bytes = kEntryBytes;
    total_bytes_ += kEntryBytes;
    entries_.emplace(tenant, entry);
    metrics_->tenants.Set(static_cast<double>(entries_.size()));
    metrics_->bytes.Set(static_cast<double>(total_bytes_));
    return entry;
}

void DatasetCache::Account(const std::string& tenant, const std::shared_ptr<Entry>& entry, size_t data_bytes) {
    std::vector<std::shared_ptr<Entry>> dropped;  // released after the lock
    {
        std::lock_guard lock(mutex_);
        if (!entry->cached) return;
        total_bytes_ = total_bytes_ - entry->bytes + kEntryBytes + data_bytes;
        entry->bytes = kEntryBytes + data_bytes;
        // Least recently used first; the caller's tenant last, and only when it alone is over the budget.
        while (total_bytes_ > settings_.max_bytes && !lru_.empty()) {
            const std::string victim =
                lru_.back() == tenant && lru_.size() > 1 ? *std::prev(lru_.end(), 2) : lru_.back();
            auto it = entries_.find(victim);
            total_bytes_ -= it->second->bytes;
            it->second->cached = false;
            lru_.erase(it->second->lru);
            dropped.push_back(std::move(it->second));
            entries_.erase(it);
            metrics_->evictions.Increment();
        }
        metrics_->tenants.Set(static_cast<double>(entries_.size()));
        metrics_->bytes.Set(static_cast<double>(total_bytes_));
    }
    if (!dropped.empty()) {
        common::log::Info("analytics cache: tenants evicted", {{"count", std::to_string(dropped.size())}});
    }
}

}  // namespace crm::analytics::cache
