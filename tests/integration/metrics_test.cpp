// Every step is measured: the standard RPC, database and outbox metrics and the service's own, on /metrics.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "../support/contacts_client.hpp"

using namespace crm::test;

namespace {

// GET /metrics over plain HTTP/1.0 (the exposition endpoint of prometheus-cpp).
std::string Scrape(const std::string& address) {
    const auto colon = address.rfind(':');
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    std::string response;
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
    close(fd);
    REQUIRE(response.rfind("HTTP/1.", 0) == 0);
    return response.substr(response.find("\r\n\r\n") + 4);
}

// The value of the sample `name` whose labels include every `label="value"` pair given; -1 when absent.
double Sample(const std::string& text, const std::string& name, const std::vector<std::string>& labels) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
        bool all = true;
        for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
        if (all) return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return -1;
}

}  // namespace

TEST_CASE("metrics: RPC, database, outbox and contacts metrics move with the calls", "[integration][metrics]") {
    const std::string contacts = RequireEnv("CRM_TEST_CONTACTS_METRICS");
    const std::string gateway = RequireEnv("CRM_TEST_GATEWAY_METRICS");
    const std::vector<std::string> ok_create = {"method=\"CreateContact\"", "code=\"OK\"", "service=\"contacts\""};
    const std::vector<std::string> bad_create = {"method=\"CreateContact\"", "code=\"INVALID_ARGUMENT\""};
    const std::string before = Scrape(contacts);
    const double ok0 = std::max(0.0, Sample(before, "crm_grpc_server_handled_total", ok_create));
    const double bad0 = std::max(0.0, Sample(before, "crm_grpc_server_handled_total", bad_create));
    const double rejected0 = std::max(0.0, Sample(before, "crm_contacts_duplicate_rejections_total", {}));

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
        after = Scrape(contacts);
        if (Sample(after, "crm_outbox_pending_events", {}) == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    CHECK(Sample(after, "crm_grpc_server_handled_total", ok_create) == ok0 + 2);
    CHECK(Sample(after, "crm_grpc_server_handled_total", bad_create) == bad0 + 1);
    CHECK(Sample(after, "crm_grpc_server_handling_seconds_count", {"method=\"CreateContact\""}) > 0);
    CHECK(Sample(after, "crm_db_query_duration_seconds_count", {"query=\"contacts_insert\""}) > 0);
    CHECK(Sample(after, "crm_db_query_duration_seconds_count", {"query=\"outbox_insert\""}) > 0);
    CHECK(Sample(after, "crm_outbox_published_total", {}) > 0);
    CHECK(Sample(after, "crm_outbox_pending_events", {}) == 0);
    CHECK(Sample(after, "crm_contacts_duplicate_rejections_total", {}) == rejected0 + 1);
    // No ids or tenants as label values: only bounded label sets.
    CHECK(after.find(tenant) == std::string::npos);

    const std::string gw = Scrape(gateway);
    CHECK(Sample(gw, "crm_gateway_requests_total", {"method=\"CreateContact\"", "code=\"OK\""}) > 0);
    CHECK(Sample(gw, "crm_gateway_upstream_seconds_count", {"method=\"CreateContact\""}) > 0);
    CHECK(gw.find(tenant) == std::string::npos);
}
