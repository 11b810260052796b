#include "crm/common/db.hpp"

#include <map>
#include <mutex>
#include <unordered_map>

#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"

namespace crm::common {

namespace detail {
namespace {
thread_local TxMemo* current_memo = nullptr;
}
TxMemo::TxMemo() : previous_(current_memo) { current_memo = this; }
TxMemo::~TxMemo() { current_memo = previous_; }
TxMemo* TxMemo::Current() { return current_memo; }
}  // namespace detail

namespace {
// JIT compilation is switched off per transaction: OLTP queries never gain from it, and on small, selective queries
// under row-level security its compile time (0.5-2 s seen) dwarfs the query itself.
constexpr Sql kBeginTenant{"begin_tenant",
                           "SELECT set_config('crm.tenant_id', $1, true), set_config('statement_timeout', $2, true), "
                           "set_config('jit', 'off', true)"};
}  // namespace

namespace {

// Pool metrics of every live pool, by pool. Shared families: every pool of a process adds to the same series (its
// service label); the registry merges a family registered again under the same name. Kept here rather than as
// members so that db.hpp, included by every storage file, stays as it is.
struct PoolMetrics {
    prometheus::Gauge* in_use;
    prometheus::Gauge* max;
    prometheus::Histogram* acquire_seconds;
};
std::mutex pools_mutex;
std::unordered_map<const Db*, PoolMetrics> pools;

PoolMetrics PoolMetricsOf(const Db* db) {
    std::lock_guard lock(pools_mutex);
    return pools.at(db);
}

}  // namespace

Db::Db(DbSettings settings, Metrics& metrics) : settings_(std::move(settings)), metrics_(metrics) {
    const std::map<std::string, std::string> labels{{"service", metrics.service()}};
    PoolMetrics pm{&prometheus::BuildGauge()
                        .Name("crm_db_pool_connections_in_use")
                        .Help("Pooled database connections leased to a transaction right now.")
                        .Register(metrics.registry())
                        .Add(labels),
                   &prometheus::BuildGauge()
                        .Name("crm_db_pool_connections_max")
                        .Help("Size of the database connection pools (CRM_DB_POOL_SIZE).")
                        .Register(metrics.registry())
                        .Add(labels),
                   &prometheus::BuildHistogram()
                        .Name("crm_db_pool_acquire_seconds")
                        .Help("Time to lease a database connection from the pool (opening one included; failures "
                              "and timeouts too).")
                        .Register(metrics.registry())
                        .Add(labels, Metrics::LatencyBuckets())};
    pm.max->Increment(settings_.pool_size);
    // Both error kinds exist from the start (at 0): rates and dashboards see them before the first error.
    metrics.db_errors.Add({{"service", metrics.service()}, {"kind", "connection"}});
    metrics.db_errors.Add({{"service", metrics.service()}, {"kind", "pool_timeout"}});
    std::lock_guard lock(pools_mutex);
    pools.emplace(this, pm);
}

Db::~Db() {
    std::lock_guard lock(pools_mutex);
    auto it = pools.find(this);
    if (it == pools.end()) return;
    it->second.max->Decrement(settings_.pool_size);
    pools.erase(it);
}

Db::Lease::~Lease() {
    if (db_ && conn_) db_->Release(std::move(conn_), broken_);
}

Db::Lease Db::Acquire() {
    const PoolMetrics pm = PoolMetricsOf(this);
    const auto start = std::chrono::steady_clock::now();
    auto waited = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    std::unique_lock lock(mutex_);
    const auto until = start + settings_.acquire_timeout;
    while (idle_.empty() && open_ >= settings_.pool_size) {
        if (available_.wait_until(lock, until) == std::cv_status::timeout && idle_.empty() &&
            open_ >= settings_.pool_size) {
            lock.unlock();
            pm.acquire_seconds->Observe(waited());
            metrics_.db_errors.Add({{"service", metrics_.service()}, {"kind", "pool_timeout"}}).Increment();
            throw ApiError::Unavailable("database busy, retry later");
        }
    }
    if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        pm.in_use->Increment();
        lock.unlock();
        pm.acquire_seconds->Observe(waited());
        return Lease(*this, std::move(conn));
    }
    ++open_;
    lock.unlock();
    try {
        Lease lease(*this, std::make_unique<pqxx::connection>(settings_.url));
        pm.in_use->Increment();
        pm.acquire_seconds->Observe(waited());
        return lease;
    } catch (const std::exception&) {
        pm.acquire_seconds->Observe(waited());
        {
            std::lock_guard relock(mutex_);
            --open_;
        }
        available_.notify_one();
        metrics_.db_errors.Add({{"service", metrics_.service()}, {"kind", "connection"}}).Increment();
        log::Error("cannot connect to the database");
        throw ApiError::Unavailable("database unavailable, retry later");
    }
}

void Db::Release(std::unique_ptr<pqxx::connection> conn, bool broken) {
    PoolMetricsOf(this).in_use->Decrement();
    {
        std::lock_guard lock(mutex_);
        if (broken || !conn->is_open()) {
            --open_;
        } else {
            idle_.push_back(std::move(conn));
        }
    }
    available_.notify_one();
}

void Db::Begin(pqxx::work& tx, const std::string& tenant, std::chrono::milliseconds budget) {
    if (!tenant.empty() && !IsValidTenantId(tenant)) throw ApiError::Unauthenticated("invalid tenant");
    if (budget.count() <= 0) throw ApiError::DeadlineExceeded("deadline exceeded before the database was reached");
    Exec(tx, kBeginTenant, tenant, std::to_string(budget.count()));
}

void Db::Observe(const char* name, std::chrono::steady_clock::time_point start) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    prometheus::Histogram* h = nullptr;
    {
        std::lock_guard lock(histograms_mutex_);
        auto it = histograms_.find(name);
        if (it == histograms_.end()) {
            h = &metrics_.db_query_seconds.Add({{"service", metrics_.service()}, {"query", name}},
                                               Metrics::LatencyBuckets());
            histograms_.emplace(name, h);
        } else {
            h = it->second;
        }
    }
    h->Observe(seconds);
}

}  // namespace crm::common
