// The connection pool's saturation metrics (crm_db_pool_*), without a database: a pool that cannot connect, and a
// pool with no room. Leases of real connections are counted in tests/integration/ops_metrics_test.cpp.
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"

using namespace crm::common;

namespace {

// The one series of a family (every pool of the test's process reports under one service label).
std::optional<prometheus::ClientMetric> Series(Metrics& m, const std::string& family) {
    for (const auto& f : m.registry().Collect()) {
        if (f.name == family && !f.metric.empty()) return f.metric.front();
    }
    return std::nullopt;
}

double Gauge(Metrics& m, const std::string& family) {
    const auto s = Series(m, family);
    return s ? s->gauge.value : -1;
}

double Counter(Metrics& m, const std::string& kind) {
    for (const auto& f : m.registry().Collect()) {
        if (f.name != "crm_db_errors_total") continue;
        for (const auto& metric : f.metric) {
            for (const auto& label : metric.label) {
                if (label.name == "kind" && label.value == kind) return metric.counter.value;
            }
        }
    }
    return 0;
}

DbSettings Unreachable(int pool_size) {
    DbSettings s;
    s.url = "postgresql://crm@127.0.0.1:1/none?connect_timeout=2";  // port 1: connection refused at once
    s.pool_size = pool_size;
    s.acquire_timeout = std::chrono::milliseconds(60);
    return s;
}

}  // namespace

TEST_CASE("db pool: the size of every live pool is published, and withdrawn when it goes", "[db][metrics]") {
    Metrics m("pooltest");
    {
        Db a(Unreachable(3), m);
        CHECK(Gauge(m, "crm_db_pool_connections_max") == 3);
        {
            Db b(Unreachable(2), m);
            CHECK(Gauge(m, "crm_db_pool_connections_max") == 5);
        }
        CHECK(Gauge(m, "crm_db_pool_connections_max") == 3);
        CHECK(Gauge(m, "crm_db_pool_connections_in_use") == 0);
    }
    CHECK(Gauge(m, "crm_db_pool_connections_max") == 0);
}

TEST_CASE("db pool: a connection that cannot be opened is not counted in use, and the attempt is timed",
          "[db][metrics]") {
    Metrics m("pooltest");
    Db db(Unreachable(2), m);
    try {
        db.Acquire();
        FAIL("a connection to port 1 was opened");
    } catch (const ApiError& e) {
        CHECK(e.code() == grpc::StatusCode::UNAVAILABLE);
    }
    CHECK(Gauge(m, "crm_db_pool_connections_in_use") == 0);
    CHECK(Counter(m, "connection") == 1);
    const auto wait = Series(m, "crm_db_pool_acquire_seconds");
    REQUIRE(wait.has_value());
    CHECK(wait->histogram.sample_count == 1);
}

TEST_CASE("db pool: with no room, the caller waits for the acquire timeout, then gets UNAVAILABLE", "[db][metrics]") {
    Metrics m("pooltest");
    Db db(Unreachable(0), m);  // no connection may be opened: every caller waits
    CHECK_THROWS_AS(db.Acquire(), ApiError);
    CHECK(Counter(m, "pool_timeout") == 1);
    CHECK(Counter(m, "connection") == 0);
    const auto wait = Series(m, "crm_db_pool_acquire_seconds");
    REQUIRE(wait.has_value());
    CHECK(wait->histogram.sample_count == 1);
    CHECK(wait->histogram.sample_sum >= 0.06);
    CHECK(Gauge(m, "crm_db_pool_connections_in_use") == 0);
}
