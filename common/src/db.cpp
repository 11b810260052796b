#include "crm/common/db.hpp"

#include <unordered_map>

#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"

namespace crm::common {

namespace {
// JIT compilation is switched off per transaction: OLTP queries never gain from it, and on small, selective queries
// under row-level security its compile time (0.5-2 s seen) dwarfs the query itself.
constexpr Sql kBeginTenant{"begin_tenant",
                           "SELECT set_config('crm.tenant_id', $1, true), set_config('statement_timeout', $2, true), "
                           "set_config('jit', 'off', true)"};
}  // namespace

Db::Db(DbSettings settings, Metrics& metrics) : settings_(std::move(settings)), metrics_(metrics) {}

Db::~Db() = default;

Db::Lease::~Lease() {
    if (db_ && conn_) db_->Release(std::move(conn_), broken_);
}

Db::Lease Db::Acquire() {
    std::unique_lock lock(mutex_);
    const auto until = std::chrono::steady_clock::now() + settings_.acquire_timeout;
    while (idle_.empty() && open_ >= settings_.pool_size) {
        if (available_.wait_until(lock, until) == std::cv_status::timeout && idle_.empty() &&
            open_ >= settings_.pool_size) {
            metrics_.db_errors.Add({{"service", metrics_.service()}, {"kind", "pool_timeout"}}).Increment();
            throw ApiError::Unavailable("database busy, retry later");
        }
    }
    if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(conn));
    }
    ++open_;
    lock.unlock();
    try {
        return Lease(*this, std::make_unique<pqxx::connection>(settings_.url));
    } catch (const std::exception&) {
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
