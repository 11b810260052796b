// The metrics the alerts of deploy/prometheus/rules rely on, measured against the real stack: database pool use
// (CrmDbPoolSaturated), the age of the outbox backlog while Kafka is down (CrmOutboxBacklogStale) and the gateway's
// count of calls it could not check against Redis (CrmGatewayRateLimiterUnavailable).
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "../support/contacts_client.hpp"
#include "crm/common/db.hpp"
#include "crm/common/metrics.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

double Gauge(crm::common::Metrics& m, const std::string& family) {
    for (const auto& f : m.registry().Collect()) {
        if (f.name == family && !f.metric.empty()) return f.metric.front().gauge.value;
    }
    return -1;
}

// Polls a service's /metrics until `pred(sample)` holds for the sample of `name`; returns the last sample.
template <class Pred>
double WaitForSample(const std::string& address, const std::string& name, Pred pred, std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    double v = -1;
    while (std::chrono::steady_clock::now() < until) {
        v = MetricSample(ScrapeMetrics(address), name);
        if (pred(v)) return v;
        std::this_thread::sleep_for(250ms);
    }
    return v;
}

}  // namespace

TEST_CASE("ops metrics: a pool counts the connections leased to transactions, broken ones too",
          "[integration][metrics][ops]") {
    crm::common::Metrics metrics("opstest");
    crm::common::DbSettings settings;
    settings.url = RequireEnv("CRM_CONTACTS_DB_URL");
    settings.pool_size = 3;
    crm::common::Db db(settings, metrics);
    CHECK(Gauge(metrics, "crm_db_pool_connections_max") == 3);
    CHECK(Gauge(metrics, "crm_db_pool_connections_in_use") == 0);
    {
        auto first = db.Acquire();
        {
            auto second = db.Acquire();
            CHECK(Gauge(metrics, "crm_db_pool_connections_in_use") == 2);
            second.MarkBroken();  // dropped, not returned: still no longer in use
        }
        CHECK(Gauge(metrics, "crm_db_pool_connections_in_use") == 1);
        auto moved = std::move(first);  // a moved lease is counted once
        CHECK(Gauge(metrics, "crm_db_pool_connections_in_use") == 1);
    }
    CHECK(Gauge(metrics, "crm_db_pool_connections_in_use") == 0);
    {
        auto reused = db.Acquire();  // from the idle list this time
        CHECK(Gauge(metrics, "crm_db_pool_connections_in_use") == 1);
    }
    CHECK(Gauge(metrics, "crm_db_pool_connections_in_use") == 0);
}

TEST_CASE("ops metrics: every running service publishes its pool size and use", "[integration][metrics][ops]") {
    for (const char* svc : {"CONTACTS", "LEADS", "SALES", "MARKETING", "SUPPORT", "FIELDSERVICE", "ANALYTICS"}) {
        const std::string address = RequireEnv((std::string("CRM_TEST_") + svc + "_METRICS").c_str());
        const std::string text = ScrapeMetrics(address);
        INFO(svc);
        const double max = MetricSample(text, "crm_db_pool_connections_max");
        const double in_use = MetricSample(text, "crm_db_pool_connections_in_use");
        CHECK(max >= 1);
        CHECK(in_use >= 0);
        CHECK(in_use <= max);
    }
}

TEST_CASE("ops metrics: the outbox backlog ages while Kafka is down and is 0 once it drained",
          "[integration][metrics][ops][outage]") {
    const std::string address = RequireEnv("CRM_TEST_CONTACTS_METRICS");
    const std::string age = "crm_outbox_oldest_pending_age_seconds";
    ContactsClient api(TokenFor(UniqueTenant()));
    api.MustCreate("Backlog", "Before");  // the relay has published at least once: the gauge exists
    REQUIRE(WaitForSample(
                address, age, [](double v) { return v == 0; }, 30s) == 0);
    {
        StackCommandAtExit restart("kafka-start");
        StackCommand("kafka-stop");
        api.MustCreate("Backlog", "During");
        // The relay retries every moment and measures the backlog each time: the age grows with the wall clock.
        const double seen = WaitForSample(
            address, age, [](double v) { return v >= 3; }, 60s);
        CHECK(seen >= 3);
        CHECK(seen < 120);
        StackCommand("kafka-start");
    }
    CHECK(WaitForSample(
              address, age, [](double v) { return v == 0; }, 90s) == 0);
}

TEST_CASE("ops metrics: the gateway counts the calls it could not check against Redis, by fail mode",
          "[integration][metrics][ops][gateway]") {
    const std::string address = RequireEnv("CRM_TEST_GATEWAY_METRICS");
    const std::string series = "crm_gateway_ratelimit_unavailable_total";
    ContactsClient api(TokenFor(UniqueTenant()));
    cv1::ListContactsRequest list;
    REQUIRE(api.ListContacts(list).ok());
    // Created with the gateway (the local stack fails open), at 0 until Redis is out of reach.
    const double before = MetricSample(ScrapeMetrics(address), series, {"fail_mode=\"open\""});
    REQUIRE(before >= 0);
    {
        StackCommandAtExit restart("redis-start");
        StackCommand("redis-stop");
        for (int i = 0; i < 3; ++i) CHECK(api.ListContacts(list).ok());  // served unchecked (fail open)
        CHECK(MetricSample(ScrapeMetrics(address), series, {"fail_mode=\"open\""}) - before == 3);
        StackCommand("redis-start");
    }
}
