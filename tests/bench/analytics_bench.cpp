// crm-analytics-bench: closed-loop load on AnalyticsService/GetKpis and GetTimeSeries through the gateway (fixed
// concurrency and duration), printing one JSON line with throughput and latency percentiles. Used by
// tests/bench/analytics_kpis.sh, which seeds the tenants first.
//   crm-analytics-bench --gateway HOST:PORT --token T --rpc kpis|series [--concurrency N] [--seconds S] [--label L]
//                       [--start YYYY-MM-DD] [--days N] [--warmup N]
// kpis: GetKpis over [start, start + days) (every KPI, pipeline as of the period's end); series: GetTimeSeries of
// METRIC_DEALS_WON per day over the same period (one bucket per day, each computed as GetKpis would). --warmup calls
// are made (not timed) before the clock starts, so that a service that caches pays its first load outside the run;
// the first call's latency is printed separately as first_ms.
#include <crm/analytics/v1/analytics.grpc.pb.h>
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

namespace av1 = crm::analytics::v1;
using Clock = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;

namespace {

struct Args {
    std::string gateway, token, rpc = "kpis", label = "run", start = "2026-03-01";
    int concurrency = 4, seconds = 10, days = 30, warmup = 1;
};

[[noreturn]] void Usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s --gateway HOST:PORT --token T --rpc kpis|series [--concurrency N] [--seconds S] "
                 "[--label L] [--start YYYY-MM-DD] [--days N] [--warmup N]\n",
                 argv0);
    std::exit(2);
}

Args Parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) Usage(argv[0]);
        const std::string v = argv[++i];
        if (k == "--gateway")
            a.gateway = v;
        else if (k == "--token")
            a.token = v;
        else if (k == "--rpc")
            a.rpc = v;
        else if (k == "--label")
            a.label = v;
        else if (k == "--start")
            a.start = v;
        else if (k == "--concurrency")
            a.concurrency = std::stoi(v);
        else if (k == "--seconds")
            a.seconds = std::stoi(v);
        else if (k == "--days")
            a.days = std::stoi(v);
        else if (k == "--warmup")
            a.warmup = std::stoi(v);
        else
            Usage(argv[0]);
    }
    if (a.gateway.empty() || a.token.empty() || (a.rpc != "kpis" && a.rpc != "series") || a.concurrency <= 0 ||
        a.seconds <= 0 || a.days <= 0 || a.warmup < 0) {
        Usage(argv[0]);
    }
    return a;
}

class Caller {
  public:
    Caller(const Args& a, const google::protobuf::Timestamp& start, const google::protobuf::Timestamp& end)
        : args_(a),
          stub_(av1::AnalyticsService::NewStub(grpc::CreateChannel(a.gateway, grpc::InsecureChannelCredentials()))) {
        *kpis_.mutable_start_time() = start;
        *kpis_.mutable_end_time() = end;
        series_.set_metric(av1::METRIC_DEALS_WON);
        series_.set_granularity(av1::GRANULARITY_DAY);
        *series_.mutable_start_time() = start;
        *series_.mutable_end_time() = end;
    }

    grpc::Status Call() {
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", "Bearer " + args_.token);
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        if (args_.rpc == "kpis") {
            av1::GetKpisResponse resp;
            return stub_->GetKpis(&ctx, kpis_, &resp);
        }
        av1::GetTimeSeriesResponse resp;
        return stub_->GetTimeSeries(&ctx, series_, &resp);
    }

  private:
    const Args& args_;
    std::unique_ptr<av1::AnalyticsService::Stub> stub_;
    av1::GetKpisRequest kpis_;
    av1::GetTimeSeriesRequest series_;
};

}  // namespace

int main(int argc, char** argv) {
    const Args args = Parse(argc, argv);
    google::protobuf::Timestamp start;
    if (!TimeUtil::FromString(args.start + "T00:00:00Z", &start)) Usage(argv[0]);
    const google::protobuf::Timestamp end = start + TimeUtil::SecondsToDuration(int64_t{86400} * args.days);

    double first_ms = 0;
    {
        Caller caller(args, start, end);
        for (int i = 0; i < args.warmup; ++i) {
            const auto t0 = Clock::now();
            const grpc::Status st = caller.Call();
            if (i == 0) first_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
            if (!st.ok()) {
                std::fprintf(stderr, "warm-up call failed: %d %s\n", st.error_code(), st.error_message().c_str());
                return 1;
            }
        }
    }

    std::mutex mutex;
    std::vector<double> latencies;
    std::atomic<long> errors{0};
    const auto begin = Clock::now();
    const auto until = begin + std::chrono::seconds(args.seconds);
    std::vector<std::thread> workers;
    for (int w = 0; w < args.concurrency; ++w) {
        workers.emplace_back([&] {
            Caller caller(args, start, end);
            std::vector<double> mine;
            while (Clock::now() < until) {
                const auto t0 = Clock::now();
                if (!caller.Call().ok()) ++errors;
                mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            }
            std::lock_guard lock(mutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    for (auto& w : workers) w.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double q) {
        return latencies.empty() ? 0.0
                                 : latencies[std::min(latencies.size() - 1, static_cast<size_t>(q * latencies.size()))];
    };
    std::printf(
        "{\"label\":\"%s\",\"rpc\":\"%s\",\"concurrency\":%d,\"requests\":%zu,\"errors\":%ld,\"rps\":%.1f,"
        "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"first_ms\":%.2f}\n",
        args.label.c_str(), args.rpc.c_str(), args.concurrency, latencies.size(), errors.load(),
        static_cast<double>(latencies.size()) / elapsed, pct(0.50), pct(0.99), first_ms);
    return errors.load() == 0 ? 0 : 1;
}
