// Per-tenant rate limits at the gateway, in Redis. Tenants "rl-*" have the plan "test-tight" in the local policy
// (deploy/local/gateway-policy.json): a burst of 5 calls, one more every 5 s, slow enough that no token comes back
// while a test fires its calls, so the counts are exact under concurrency.
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "../support/contacts_client.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

constexpr int kBurst = 5;
constexpr auto kRefill = 5s;  // one token per 5 s

struct Outcome {
    grpc::Status status;
    std::chrono::milliseconds retry_delay{-1};  // google.rpc.RetryInfo, -1 ms when absent
    std::string retry_after;                    // trailing metadata
};

Outcome ListOnce(const std::string& token, const std::shared_ptr<grpc::Channel>& channel = GatewayChannel()) {
    Outcome out;
    grpc::ClientContext ctx;
    Prepare(ctx, token);
    cv1::ListContactsResponse response;
    out.status = cv1::ContactsService::NewStub(channel)->ListContacts(&ctx, {}, &response);
    google::rpc::Status details;
    if (details.ParseFromString(out.status.error_details())) {
        for (const auto& any : details.details()) {
            google::rpc::RetryInfo retry;
            if (any.UnpackTo(&retry)) {
                out.retry_delay = std::chrono::milliseconds(retry.retry_delay().seconds() * 1000 +
                                                            retry.retry_delay().nanos() / 1000000);
            }
        }
    }
    for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
        if (k == "retry-after") out.retry_after = std::string(v.data(), v.size());
    }
    return out;
}

// One sample of the gateway's /metrics (curl), 0 when the series does not exist yet.
double GatewayMetric(const std::string& series) {
    const std::string cmd = "curl -fsS --max-time 5 http://" + RequireEnv("CRM_TEST_GATEWAY_METRICS") + "/metrics";
    FILE* out = popen(cmd.c_str(), "r");
    REQUIRE(out != nullptr);
    std::string text;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
    REQUIRE(pclose(out) == 0);
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("gateway rate limit: 20 concurrent calls over a burst of 5 give exactly 5 successes, the rest retry info",
          "[integration][gateway][ratelimit]") {
    const std::string tenant = UniqueTenant("rl-");
    const std::string token = TokenFor(tenant, {"read_only"});
    const std::string series = "crm_gateway_ratelimited_total{service=\"crm.contacts.v1.ContactsService\"}";
    const double limited_before = GatewayMetric(series);

    std::mutex mutex;
    std::vector<Outcome> outcomes;
    std::latch start(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < 5; ++i) {
                Outcome o = ListOnce(token);
                std::lock_guard lock(mutex);
                outcomes.push_back(std::move(o));
            }
        });
    }
    for (auto& t : threads) t.join();

    int ok = 0;
    int exhausted = 0;
    std::chrono::milliseconds longest{0};
    for (const auto& o : outcomes) {
        if (o.status.ok()) {
            ++ok;
            continue;
        }
        INFO(o.status.error_code() << " " << o.status.error_message());
        REQUIRE(o.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
        ++exhausted;
        CHECK(ErrorReason(o.status) == "RATE_LIMITED");
        CHECK(o.retry_delay > 0ms);
        CHECK(o.retry_delay <= kRefill);
        CHECK(o.retry_after == std::to_string((o.retry_delay.count() + 999) / 1000));
        longest = std::max(longest, o.retry_delay);
    }
    CHECK(ok == kBurst);
    CHECK(exhausted == 20 - kBurst);
    CHECK(GatewayMetric(series) - limited_before == 20 - kBurst);

    // Another tenant is not affected.
    CHECK(ListOnce(TokenFor(UniqueTenant("rl-"), {"read_only"})).status.ok());

    // After the delay the gateway gave, one token is back: one call passes, the next is refused again.
    std::this_thread::sleep_for(longest + 200ms);
    CHECK(ListOnce(token).status.ok());
    CHECK(ListOnce(token).status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_CASE("gateway rate limit: Redis down, calls are served (fail open) and counted, then limited again",
          "[integration][gateway][ratelimit]") {
    const std::string fail_open = "crm_gateway_ratelimit_fail_open_total";
    const std::string down_tenant = UniqueTenant("rl-");
    const std::string token = TokenFor(down_tenant);
    REQUIRE(ListOnce(token).status.ok());
    const double before = GatewayMetric(fail_open);
    {
        StackCommandAtExit restart("redis-start");
        StackCommand("redis-stop");
        // More calls than the tenant's burst: none is limited, none fails.
        for (int i = 0; i < kBurst + 3; ++i) {
            const Outcome o = ListOnce(token);
            INFO("call " << i << ": " << o.status.error_code() << " " << o.status.error_message());
            CHECK(o.status.ok());
        }
        CHECK(GatewayMetric(fail_open) - before == kBurst + 3);
        StackCommand("redis-start");
    }
    // The limiter backs off for a moment after a failure; then the limits apply again.
    std::this_thread::sleep_for(1500ms);
    const std::string fresh = TokenFor(UniqueTenant("rl-"), {"read_only"});
    for (int i = 0; i < kBurst; ++i) CHECK(ListOnce(fresh).status.ok());
    CHECK(ListOnce(fresh).status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
}

// The gateways take leases of a bucket's tokens from Redis (limits/leasing_limiter.hpp): "rls-*" tenants have 100
// calls/s with a burst of 60 (leases of 5 tokens). Two replicas hammered at once for 3 s must never admit more than
// burst + rate x time, and the one-sided error of idle leases costs at most a few batches.
TEST_CASE("gateway rate limit: a tenant's limit holds across two gateway replicas sharing Redis",
          "[integration][gateway][ratelimit]") {
    const std::string token = TokenFor(UniqueTenant("rls-"), {"read_only"});
    const std::vector<std::shared_ptr<grpc::Channel>> replicas = {
        GatewayChannel(), grpc::CreateChannel(RequireEnv("CRM_TEST_GATEWAY2"), grpc::InsecureChannelCredentials())};
    std::atomic<long> admitted[2] = {0, 0};
    std::atomic<long> limited{0}, other{0};
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + 3s;
    std::vector<std::thread> workers;
    for (int t = 0; t < 8; ++t) {
        workers.emplace_back([&, t] {
            while (std::chrono::steady_clock::now() < end) {
                const auto out = ListOnce(token, replicas[t % 2]);
                if (out.status.ok()) {
                    ++admitted[t % 2];
                } else if (out.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
                    ++limited;
                } else {
                    ++other;
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const long total = admitted[0] + admitted[1];
    const double allowed = 60 + 100 * seconds;
    INFO("admitted " << admitted[0] << " + " << admitted[1] << " = " << total << ", limited " << limited << ", other "
                     << other << " in " << seconds << " s; allowed at most " << allowed);
    CHECK(other == 0);
    REQUIRE(limited > 0);  // the replicas were pressed beyond the limit
    CHECK(admitted[0] > 0);
    CHECK(admitted[1] > 0);
    CHECK(total <= allowed + 1);
    CHECK(total >= allowed * 0.9 - 2 * 5);
}

TEST_CASE("gateway rate limit: a token revoked by an operator is refused at once by both replicas",
          "[integration][gateway][ratelimit]") {
    TokenSpec spec;
    spec.tenant = UniqueTenant("rls-");
    const std::string token = MintToken(spec);
    const auto second = grpc::CreateChannel(RequireEnv("CRM_TEST_GATEWAY2"), grpc::InsecureChannelCredentials());
    // Both replicas have seen the token and remember it as not revoked.
    REQUIRE(ListOnce(token).status.ok());
    REQUIRE(ListOnce(token, second).status.ok());
    const size_t dot = token.find('.');
    const auto claims =
        nlohmann::json::parse(crm::common::Base64UrlDecode(token.substr(dot + 1, token.find('.', dot + 1) - dot - 1)));
    StackCommand("revoke-token " + claims["jti"].get<std::string>() + " 600");
    CHECK(ListOnce(token).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(ListOnce(token, second).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
}
