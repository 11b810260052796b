// crm-analytics-freshness: how long from a change committed in a producing service to the KPI that counts it.
//
// A writer creates contacts through the gateway at a fixed rate (open loop) for a fresh tenant; the moment each
// CreateContact returns OK is its commit time (the outbox row is committed with it). A poller calls
// AnalyticsService/GetKpis through the gateway every --poll-ms and reads new_contacts. The i-th create to return
// (in completion order) is counted as visible at the first poll that saw new_contacts >= i + 1, so freshness =
// that poll's start - commit time (resolution: the poll interval; the path measured is outbox relay -> Kafka ->
// consumer -> analytics database -> GetKpis, plus both gateway hops).
//
//   usage: crm-analytics-freshness --gateway HOST:PORT --token TOKEN [--rate N/s] [--seconds S] [--poll-ms MS]
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;

namespace {

struct Args {
    std::string gateway;
    std::string token;
    double rate = 50;
    int seconds = 20;
    int poll_ms = 10;
};

Args Parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--gateway")
            a.gateway = v;
        else if (k == "--token")
            a.token = v;
        else if (k == "--rate")
            a.rate = std::stod(v);
        else if (k == "--seconds")
            a.seconds = std::stoi(v);
        else if (k == "--poll-ms")
            a.poll_ms = std::stoi(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            std::exit(2);
        }
    }
    if (a.gateway.empty() || a.token.empty() || a.rate <= 0 || a.seconds <= 0 || a.poll_ms <= 0) {
        std::fprintf(stderr, "usage: %s --gateway HOST:PORT --token TOKEN [--rate N] [--seconds S] [--poll-ms MS]\n",
                     argv[0]);
        std::exit(2);
    }
    return a;
}

void Authorize(grpc::ClientContext& ctx, const std::string& token) {
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

double Percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = Parse(argc, argv);
    auto channel = grpc::CreateChannel(args.gateway, grpc::InsecureChannelCredentials());
    auto contacts = crm::contacts::v1::ContactsService::NewStub(channel);
    auto analytics = crm::analytics::v1::AnalyticsService::NewStub(channel);

    std::mutex mu;
    std::vector<Clock::time_point> committed;  // completion order
    std::atomic<bool> writing{true};
    std::atomic<int> failed{0};
    const int total = static_cast<int>(args.rate * args.seconds);

    // The KPI query: new contacts from yesterday to tomorrow (UTC).
    crm::analytics::v1::GetKpisRequest kpis;
    const int64_t now_s = TimeUtil::GetCurrentTime().seconds();
    kpis.mutable_start_time()->set_seconds(now_s - 86400);
    kpis.mutable_end_time()->set_seconds(now_s + 86400);

    // Writers: open loop, one thread per in-flight slot so that a slow call does not delay the schedule.
    const auto start = Clock::now();
    std::vector<std::thread> writers;
    std::atomic<int> next{0};
    const int threads = std::max(4, static_cast<int>(args.rate / 20));
    for (int t = 0; t < threads; ++t) {
        writers.emplace_back([&] {
            for (int i = next++; i < total; i = next++) {
                const auto due = start + std::chrono::microseconds(static_cast<int64_t>(i * 1e6 / args.rate));
                std::this_thread::sleep_until(due);
                crm::contacts::v1::CreateContactRequest req;
                req.mutable_contact()->set_given_name("Fresh");
                req.mutable_contact()->set_family_name("Contact" + std::to_string(i));
                crm::contacts::v1::CreateContactResponse resp;
                grpc::ClientContext ctx;
                Authorize(ctx, args.token);
                if (contacts->CreateContact(&ctx, req, &resp).ok()) {
                    const auto at = Clock::now();
                    std::lock_guard<std::mutex> lock(mu);
                    committed.push_back(at);
                } else {
                    ++failed;
                }
            }
        });
    }

    // Poller: until every successful create is visible (or 60 s after the writers finished).
    std::vector<std::pair<Clock::time_point, int64_t>> polls;  // poll start, new_contacts seen
    int poll_errors = 0;
    std::thread poller([&] {
        Clock::time_point writers_done{};
        for (;;) {
            const auto t = Clock::now();
            crm::analytics::v1::GetKpisResponse resp;
            grpc::ClientContext ctx;
            Authorize(ctx, args.token);
            if (analytics->GetKpis(&ctx, kpis, &resp).ok()) {
                polls.emplace_back(t, resp.new_contacts());
            } else {
                ++poll_errors;
            }
            size_t done;
            {
                std::lock_guard<std::mutex> lock(mu);
                done = committed.size();
            }
            if (!writing && writers_done == Clock::time_point{}) writers_done = Clock::now();
            if (!writing && !polls.empty() && polls.back().second >= static_cast<int64_t>(done)) break;
            if (!writing && Clock::now() - writers_done > std::chrono::seconds(60)) break;
            std::this_thread::sleep_until(t + std::chrono::milliseconds(args.poll_ms));
        }
    });
    for (auto& w : writers) w.join();
    writing = false;
    poller.join();
    std::sort(committed.begin(), committed.end());  // completion order (the clock was read before the lock)

    std::vector<double> fresh_ms;
    size_t p = 0;
    for (size_t i = 0; i < committed.size(); ++i) {
        while (p < polls.size() && polls[p].second < static_cast<int64_t>(i + 1)) ++p;
        if (p == polls.size()) break;
        // The first poll that counted it must have started after the commit to be meaningful.
        size_t q = p;
        while (q < polls.size() && polls[q].first < committed[i]) ++q;
        if (q == polls.size()) break;
        fresh_ms.push_back(std::chrono::duration<double, std::milli>(polls[q].first - committed[i]).count());
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double writing_s = committed.empty() ? 0 : std::chrono::duration<double>(committed.back() - start).count();
    std::printf(
        "analytics freshness: %zu contacts created through the gateway (%d failed), offered %.0f/s, achieved "
        "%.1f/s over %.1f s; %zu polls every %d ms (%d failed); %.1f s in all\n",
        committed.size(), failed.load(), args.rate,
        writing_s > 0 ? static_cast<double>(committed.size()) / writing_s : 0.0, writing_s, polls.size(), args.poll_ms,
        poll_errors, elapsed);
    std::printf("  commit -> KPI visible: measured %zu of %zu, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                fresh_ms.size(), committed.size(), Percentile(fresh_ms, 0.5), Percentile(fresh_ms, 0.9),
                Percentile(fresh_ms, 0.99), Percentile(fresh_ms, 1.0));
    return fresh_ms.size() == committed.size() && failed == 0 ? 0 : 1;
}
