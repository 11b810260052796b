// Every step is measured: the standard RPC, database and outbox metrics and the service's own, on /metrics.

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "../support/contacts_client.hpp"

using namespace crm::test;

TEST_CASE("metrics: RPC, database, outbox and contacts metrics move with the calls", "[integration][metrics]") {
    const std::string contacts = RequireEnv("CRM_TEST_CONTACTS_METRICS");
    const std::string gateway = RequireEnv("CRM_TEST_GATEWAY_METRICS");
    const std::vector<std::string> ok_create = {"method=\"CreateContact\"", "code=\"OK\"", "service=\"contacts\""};
    const std::vector<std::string> bad_create = {"method=\"CreateContact\"", "code=\"INVALID_ARGUMENT\""};
    // Start from a quiet relay, so that the outbox counters move only with this test's events.
    std::string before;
    for (int i = 0; i < 50; ++i) {
        before = ScrapeMetrics(contacts);
        if (MetricSample(before, "crm_outbox_pending_events", {}) <= 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    // A series never touched has no sample yet (-1): it counts as 0.
    auto at = [](const std::string& text, const std::string& name, const std::vector<std::string>& labels) {
        return std::max(0.0, MetricSample(text, name, labels));
    };
    const std::string gw_before = ScrapeMetrics(gateway);
    const double handled_count0 = at(before, "crm_grpc_server_handling_seconds_count", {"method=\"CreateContact\""});
    const double creates0 = at(before, "crm_db_query_duration_seconds_count", {"query=\"contacts_create\""});
    const double outbox_inserts0 = at(before, "crm_db_query_duration_seconds_count", {"query=\"outbox_insert\""});
    const double published0 = at(before, "crm_outbox_published_total", {});
    const double gw_ok0 = at(gw_before, "crm_gateway_requests_total", {"method=\"CreateContact\"", "code=\"OK\""});
    const double gw_upstream0 = at(gw_before, "crm_gateway_upstream_seconds_count", {"method=\"CreateContact\""});
    const double ok0 = std::max(0.0, MetricSample(before, "crm_grpc_server_handled_total", ok_create));
    const double bad0 = std::max(0.0, MetricSample(before, "crm_grpc_server_handled_total", bad_create));
    const double rejected0 = std::max(0.0, MetricSample(before, "crm_contacts_duplicate_rejections_total", {}));

    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    api.MustCreate("Metric", "One", "metric@example.com");
    api.MustCreate("Metric", "Two");
    cv1::CreateContactRequest bad;
    bad.mutable_contact()->set_email("not-an-email");
    CHECK(api.CreateContact(bad).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    cv1::CreateContactRequest dup;
    dup.mutable_contact()->set_email("metric@example.com");
    CHECK(api.CreateContact(dup).status.error_code() == grpc::StatusCode::ALREADY_EXISTS);

    // The relay publishes within a moment; wait for its counter to move.
    std::string after;
    for (int i = 0; i < 50; ++i) {
        after = ScrapeMetrics(contacts);
        if (MetricSample(after, "crm_outbox_pending_events", {}) == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    CHECK(MetricSample(after, "crm_grpc_server_handled_total", ok_create) == ok0 + 2);
    CHECK(MetricSample(after, "crm_grpc_server_handled_total", bad_create) == bad0 + 1);
    // Four calls timed; three reached the database's create statement (the duplicate-email check and the insert are
    // one statement, contacts_create): two contacts inserted, each with one event in the outbox, both published.
    CHECK(MetricSample(after, "crm_grpc_server_handling_seconds_count", {"method=\"CreateContact\""}) ==
          handled_count0 + 4);
    CHECK(MetricSample(after, "crm_db_query_duration_seconds_count", {"query=\"contacts_create\""}) == creates0 + 3);
    CHECK(MetricSample(after, "crm_db_query_duration_seconds_count", {"query=\"outbox_insert\""}) ==
          outbox_inserts0 + 2);
    CHECK(MetricSample(after, "crm_outbox_published_total", {}) == published0 + 2);
    CHECK(MetricSample(after, "crm_outbox_pending_events", {}) == 0);
    CHECK(MetricSample(after, "crm_contacts_duplicate_rejections_total", {}) == rejected0 + 1);
    // No ids or tenants as label values: only bounded label sets.
    CHECK(after.find(tenant) == std::string::npos);

    const std::string gw = ScrapeMetrics(gateway);
    CHECK(MetricSample(gw, "crm_gateway_requests_total", {"method=\"CreateContact\"", "code=\"OK\""}) == gw_ok0 + 2);
    CHECK(MetricSample(gw, "crm_gateway_upstream_seconds_count", {"method=\"CreateContact\""}) == gw_upstream0 + 4);
    CHECK(gw.find(tenant) == std::string::npos);
}
