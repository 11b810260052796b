// crm-fieldservice-bench: closed-loop load on the field-service scheduling RPCs through the gateway (fixed
// concurrency and duration), printing one JSON line with throughput and latency percentiles (the format
// tests/bench/interleave.py reads). Used by tests/bench/fieldservice.sh.
//   crm-fieldservice-bench --token T --rpc candidates --work-order ID --concurrency N --seconds S --label L
//   crm-fieldservice-bench --token T --rpc dispatch --work-orders FILE --technicians FILE --concurrency N --label L
//       books every work order of FILE (one id a line) on a technician of FILE picked at random, at a start picked
//       at random among a few slots: many bookings race for the same technician and slot. Counts wins and refusals.
//   crm-fieldservice-bench --token T --rpc plan --technician ID --date YYYY-MM-DD --concurrency N --seconds S
// The test support it reuses (token and deadline handling) asserts with Catch2; this defines Catch2's implementation
// without its main().
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fieldservice_client.hpp"

using namespace crm::test;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

double Percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    std::string token, rpc = "candidates", label = "run", work_order, technician, date, orders_file, techs_file;
    int concurrency = 4, seconds = 10;
    long long slot_base = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--token")
            token = next();
        else if (a == "--rpc")
            rpc = next();
        else if (a == "--label")
            label = next();
        else if (a == "--work-order")
            work_order = next();
        else if (a == "--work-orders")
            orders_file = next();
        else if (a == "--technician")
            technician = next();
        else if (a == "--technicians")
            techs_file = next();
        else if (a == "--date")
            date = next();
        else if (a == "--slot-base")
            slot_base = std::stoll(next());
        else if (a == "--concurrency")
            concurrency = std::stoi(next());
        else if (a == "--seconds")
            seconds = std::stoi(next());
        else {
            std::cerr << "unknown argument " << a << "\n";
            return 2;
        }
    }
    FieldServiceClient api(token);
    std::mutex mutex;
    std::vector<double> latencies;
    std::atomic<long> errors{0}, wins{0}, refused{0};
    std::atomic<std::size_t> cursor{0};
    const std::vector<std::string> orders = orders_file.empty() ? std::vector<std::string>() : Lines(orders_file);
    const std::vector<std::string> techs = techs_file.empty() ? std::vector<std::string>() : Lines(techs_file);
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    const auto started = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
            std::vector<double> mine;
            while (true) {
                const auto t0 = Clock::now();
                grpc::Status status;
                if (rpc == "dispatch") {
                    const std::size_t i = cursor.fetch_add(1);
                    if (i >= orders.size()) break;
                    fv1::DispatchWorkOrderRequest req;
                    req.set_work_order_id(orders[i]);
                    req.set_technician_id(techs[rng() % techs.size()]);
                    // One of four one-hour slots of the day: bookings of one technician collide often.
                    *req.mutable_start_time() = Ts(slot_base + static_cast<long long>(rng() % 4) * 3600);
                    status = api.DispatchWorkOrder(req).status;
                    if (status.ok()) {
                        ++wins;
                    } else if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
                        ++refused;
                        status = grpc::Status::OK;  // a refused double booking is the expected answer
                    }
                } else {
                    if (Clock::now() >= deadline) break;
                    if (rpc == "plan") {
                        fv1::PlanDayRequest req;
                        req.set_technician_id(technician);
                        req.set_date(date);
                        status = api.PlanDay(req).status;
                    } else {
                        fv1::FindCandidatesRequest req;
                        req.set_work_order_id(work_order);
                        status = api.FindCandidates(req).status;
                    }
                }
                if (!status.ok()) {
                    ++errors;
                    if (errors == 1) std::cerr << "error: " << status.error_message() << "\n";
                }
                mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            }
            std::lock_guard lock(mutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    for (auto& th : threads) th.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    const std::size_t calls = latencies.size();
    std::printf(
        "{\"label\":\"%s\",\"rpc\":\"%s\",\"calls\":%zu,\"errors\":%ld,\"seconds\":%.2f,\"rps\":%.1f,\"p50_ms\":%.2f,"
        "\"p99_ms\":%.2f,\"wins\":%ld,\"refused\":%ld}\n",
        label.c_str(), rpc.c_str(), calls, errors.load(), elapsed, static_cast<double>(calls) / elapsed,
        Percentile(latencies, 0.50), Percentile(latencies, 0.99), wins.load(), refused.load());
    return 0;
}
