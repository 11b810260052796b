#pragma once
// PostgreSQL access for repositories: a fixed-size connection pool over libpqxx and transactions that always run
// with the caller's tenant set (set_config('crm.tenant_id', ..., true)), so row-level security scopes every
// statement to that tenant, and with statement_timeout bounded by the caller's remaining deadline.
// Include only from storage code: it pulls in pqxx.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "crm/common/failpoint.hpp"
#include "crm/common/rpc.hpp"

namespace prometheus {
class Histogram;
}

namespace crm::common {

class Metrics;

// A named SQL statement. The name appears in metrics (crm_db_query_duration_seconds{query}) and logs.
struct Sql {
    const char* name;
    const char* text;
};

struct DbSettings {
    std::string url;
    int pool_size = 8;
    std::chrono::milliseconds acquire_timeout{3000};
    std::chrono::milliseconds max_statement_time{10000};  // cap when the caller has no deadline
};

// nullptr (SQL NULL) for an empty string, else the text: libpqxx 6 has no std::optional parameters.
inline const char* NullIfEmpty(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

namespace detail {
// What a transaction learned that holds only within it (e.g. the subject data keys it created or read: a key created
// by a transaction that rolls back never existed), for its own later statements. One per Db::Run on this thread,
// gone when the transaction ends, committed or not. Code that rolls back to a savepoint (pqxx::subtransaction) clears
// it.
class TxMemo {
  public:
    TxMemo();
    ~TxMemo();
    TxMemo(const TxMemo&) = delete;
    TxMemo& operator=(const TxMemo&) = delete;
    static TxMemo* Current();  // the innermost transaction's on this thread; nullptr outside Db::Run
    std::map<std::string, std::string> values;

  private:
    TxMemo* previous_;
};
}  // namespace detail

class Db {
  public:
    Db(DbSettings settings, Metrics& metrics);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    // Runs fn(pqxx::work&) in one read-write transaction for the caller's tenant and commits it.
    template <class F>
    auto InTenant(const RequestContext& rc, F&& fn) -> std::invoke_result_t<F, pqxx::work&> {
        return Run(rc.tenant_id, rc.Remaining(settings_.max_statement_time), std::forward<F>(fn));
    }
    // Same for background work that acts for one tenant (schedulers, consumers).
    template <class F>
    auto InTenant(const std::string& tenant_id, F&& fn) -> std::invoke_result_t<F, pqxx::work&> {
        return Run(tenant_id, settings_.max_statement_time, std::forward<F>(fn));
    }

    // Executes a named statement and records its duration.
    template <class... Args>
    pqxx::result Exec(pqxx::transaction_base& tx, const Sql& sql, Args&&... args) {
        const auto start = std::chrono::steady_clock::now();
        pqxx::result r = tx.exec_params(sql.text, std::forward<Args>(args)...);
        Observe(sql.name, start);
        return r;
    }

    Metrics& metrics() { return metrics_; }
    const DbSettings& settings() const { return settings_; }

    // A pooled connection; returned on destruction, dropped when marked broken.
    class Lease {
      public:
        Lease(Db& db, std::unique_ptr<pqxx::connection> conn) : db_(&db), conn_(std::move(conn)) {}
        Lease(Lease&& other) noexcept = default;
        ~Lease();
        pqxx::connection& conn() { return *conn_; }
        void MarkBroken() { broken_ = true; }

      private:
        Db* db_;
        std::unique_ptr<pqxx::connection> conn_;
        bool broken_ = false;
    };
    Lease Acquire();  // throws ApiError UNAVAILABLE when no connection can be had in time

  private:
    template <class F>
    auto Run(const std::string& tenant, std::chrono::milliseconds budget, F&& fn)
        -> std::invoke_result_t<F, pqxx::work&> {
        using R = std::invoke_result_t<F, pqxx::work&>;
        Lease lease = Acquire();
        try {
            detail::TxMemo memo;
            pqxx::work tx(lease.conn());
            Begin(tx, tenant, budget);
            if constexpr (std::is_void_v<R>) {
                fn(tx);
                if (FailpointsArmed()) Failpoint("db.before_commit");
                tx.commit();
            } else {
                R result = fn(tx);
                if (FailpointsArmed()) Failpoint("db.before_commit");
                tx.commit();
                return result;
            }
        } catch (const pqxx::broken_connection&) {
            lease.MarkBroken();
            throw;
        } catch (const pqxx::in_doubt_error&) {
            lease.MarkBroken();
            throw;
        }
    }

    void Begin(pqxx::work& tx, const std::string& tenant, std::chrono::milliseconds budget);
    void Observe(const char* name, std::chrono::steady_clock::time_point start);
    void Release(std::unique_ptr<pqxx::connection> conn, bool broken);

    DbSettings settings_;
    Metrics& metrics_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    int open_ = 0;
    std::mutex histograms_mutex_;
    std::unordered_map<std::string, prometheus::Histogram*> histograms_;
};

}  // namespace crm::common
