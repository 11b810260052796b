// crm-sales-bench: closed-loop load on the sales pipeline queries through the gateway (fixed concurrency and
// duration), printing one JSON line with throughput and latency percentiles. Used by tests/bench/sales_pipeline.sh.
//   crm-sales-bench --token T --print-pipeline            prints "<pipeline id> <stage id> <stage id> ..."
//   crm-sales-bench --token T --rpc stage|close|forecast --concurrency N --seconds S --label L
// The test support it reuses (token and deadline handling) asserts with Catch2; this defines Catch2's implementation
// without its main().
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sales_client.hpp"

using namespace crm::test;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    std::string token, rpc = "stage", label = "run";
    int concurrency = 4, seconds = 10;
    bool print_pipeline = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--token")
            token = next();
        else if (a == "--rpc")
            rpc = next();
        else if (a == "--label")
            label = next();
        else if (a == "--concurrency")
            concurrency = std::stoi(next());
        else if (a == "--seconds")
            seconds = std::stoi(next());
        else if (a == "--print-pipeline")
            print_pipeline = true;
        else {
            std::cerr << "unknown argument " << a << "\n";
            return 2;
        }
    }
    SalesClient api(token);
    auto pipeline = api.GetDefaultPipeline({});
    if (!pipeline.ok()) {
        std::cerr << "GetDefaultPipeline: " << pipeline.status.error_message() << "\n";
        return 1;
    }
    const auto& p = pipeline.response.pipeline();
    if (print_pipeline) {
        std::cout << p.id();
        for (const auto& s : p.stages()) std::cout << " " << s.id();
        std::cout << "\n";
        return 0;
    }
    std::mutex mutex;
    std::vector<double> latencies;
    std::atomic<long> errors{0};
    const auto until = Clock::now() + std::chrono::seconds(seconds);
    std::vector<std::thread> workers;
    for (int w = 0; w < concurrency; ++w) {
        workers.emplace_back([&] {
            SalesClient client(token);
            std::vector<double> mine;
            while (Clock::now() < until) {
                const auto start = Clock::now();
                grpc::Status status;
                if (rpc == "forecast") {
                    sv1::GetForecastRequest req;
                    req.mutable_period()->set_type(sv1::PERIOD_TYPE_MONTH);
                    req.mutable_period()->set_start_date("2030-06-01");
                    req.set_currency_code("EUR");
                    status = client.GetForecast(req).status;
                } else {
                    sv1::ListOpportunitiesRequest req;
                    req.set_page_size(50);
                    if (rpc == "stage") {
                        req.set_pipeline_id(p.id());
                        req.set_stage_id(p.stages(2).id());
                    } else {
                        req.set_close_date_from("2030-06-01");
                        req.set_close_date_to("2030-06-30");
                        req.set_order_by(sv1::OPPORTUNITY_ORDER_EXPECTED_CLOSE_DATE);
                    }
                    status = client.ListOpportunities(req).status;
                }
                if (!status.ok()) ++errors;
                mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
            }
            std::lock_guard lock(mutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    for (auto& w : workers) w.join();
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double q) {
        return latencies.empty() ? 0.0
                                 : latencies[std::min(latencies.size() - 1, static_cast<size_t>(q * latencies.size()))];
    };
    std::printf(
        "{\"label\":\"%s\",\"rpc\":\"%s\",\"concurrency\":%d,\"requests\":%zu,\"errors\":%ld,\"rps\":%.1f,"
        "\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
        label.c_str(), rpc.c_str(), concurrency, latencies.size(), errors.load(),
        static_cast<double>(latencies.size()) / seconds, pct(0.50), pct(0.99));
    return errors.load() == 0 ? 0 : 1;
}
