// crm-bench: a load client for ContactsService (and LeadsService.ConvertLead, --rpc convert). It drives CreateContact,
// GetContact, ListContacts, SearchContacts or ConvertLead for a fixed time, either through the gateway over gRPC (with
// a bearer token), through the gateway over HTTP/JSON (--mode http, GET /v1/contacts/{id} etc. on keep-alive
// connections; contacts RPCs), or directly to the service (with identity metadata signed by the internal key, as the
// gateway would), and prints one JSON line with throughput and latency percentiles. Closed loop by default (each of
// --concurrency workers sends its next call when the last one answered: maximum throughput); with --rate R, open
// loop at a fixed offered load of R calls/s (call i is due at start + i/R, and its latency counts from when it was
// due, so a stall is not hidden). tests/bench/run.sh, gateway.sh and create.sh run it in every mode.
// Creates (contacts, and leads with --rpc create-lead) carry names, emails and phones shaped like a real tenant's
// (names.hpp); --rpc create-opportunity creates opportunities in the tenant's default pipeline. --emit-contacts N
// prints N such contacts as CSV (the stored, normalized forms) for a preload (tests/bench/create.sh) and exits.
#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <crm/leads/v1/leads.grpc.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "crm/common/crypto.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/rpc.hpp"
#include "http_client.hpp"
#include "names.hpp"

namespace cv1 = crm::contacts::v1;
namespace lv1 = crm::leads::v1;
namespace sv1 = crm::sales::v1;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string target;
    std::string mode = "gateway";  // gateway | direct | http
    std::string rpc = "create";    // create | create-lead | create-opportunity | get | list | search | convert
    int concurrency = 8;
    double seconds = 10;
    std::string token;         // gateway mode
    std::string internal_key;  // direct mode
    std::string tenant = "bench";
    int preload = 200;        // contacts created before a get run; qualified leads before a convert run
    double rate = 0;          // > 0: open loop at this many calls per second
    long emit_contacts = -1;  // >= 0: print this many generated contacts as CSV and exit
    std::uint64_t seed = 0;   // of the generated data (0: random)
};

const crm::bench::NameGen& Names() {
    static const crm::bench::NameGen gen;
    return gen;
}

[[noreturn]] void Usage() {
    std::cerr
        << "usage: crm-bench --target HOST:PORT [--mode gateway|direct|http]\n"
           "                 [--rpc create|create-lead|create-opportunity|get|list|search|convert] [--concurrency N]\n"
           "                 [--seconds S] [--rate CALLS_PER_S] [--token JWT] [--internal-key KEY] [--tenant T] "
           "[--preload N] [--seed N]\n"
           "       crm-bench --emit-contacts N [--seed N]    (CSV: given, family, email, phone and their stored "
           "forms)\n";
    std::exit(2);
}

Options Parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) Usage();
            return argv[++i];
        };
        if (a == "--target")
            o.target = next();
        else if (a == "--mode")
            o.mode = next();
        else if (a == "--rpc")
            o.rpc = next();
        else if (a == "--concurrency")
            o.concurrency = std::stoi(next());
        else if (a == "--seconds")
            o.seconds = std::stod(next());
        else if (a == "--token")
            o.token = next();
        else if (a == "--internal-key")
            o.internal_key = next();
        else if (a == "--tenant")
            o.tenant = next();
        else if (a == "--preload")
            o.preload = std::stoi(next());
        else if (a == "--rate")
            o.rate = std::stod(next());
        else if (a == "--emit-contacts")
            o.emit_contacts = std::stol(next());
        else if (a == "--seed")
            o.seed = std::stoull(next());
        else
            Usage();
    }
    if (o.emit_contacts >= 0) return o;
    static const std::vector<std::string> kRpcs = {"create", "create-lead", "create-opportunity", "get", "list",
                                                   "search", "convert"};
    if (o.target.empty() || (o.mode != "gateway" && o.mode != "direct" && o.mode != "http") || o.rate < 0 ||
        (o.mode == "http" && o.rpc != "create" && o.rpc != "get" && o.rpc != "list" && o.rpc != "search") ||
        std::find(kRpcs.begin(), kRpcs.end(), o.rpc) == kRpcs.end() || o.concurrency < 1 || o.seconds <= 0) {
        Usage();
    }
    if ((o.mode == "gateway" || o.mode == "http") && o.token.empty()) Usage();
    if (o.mode == "direct" && o.internal_key.empty()) Usage();
    return o;
}

void Authorize(grpc::ClientContext& ctx, const Options& o) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (o.mode == "gateway") {
        ctx.AddMetadata("authorization", "Bearer " + o.token);
        return;
    }
    // Direct mode: the channel (common::MakeDownstreamChannel) signs the identity for the method of each call.
    crm::common::Identity id{o.tenant, "bench", {"admin"}, "", crm::common::NewUuid()};
    for (auto& [k, v] : crm::common::PrepareIdentity(id, o.internal_key, std::chrono::system_clock::now())) {
        ctx.AddMetadata(k, v);
    }
}

bool Create(cv1::ContactsService::Stub& stub, const Options& o, std::mt19937_64& rng, std::string* id) {
    cv1::CreateContactRequest req;
    auto* c = req.mutable_contact();
    const crm::bench::Person p = Names().Make(rng, rng());
    c->set_given_name(p.given);
    c->set_family_name(p.family);
    c->set_email(p.email);
    c->set_phone(p.phone);
    cv1::CreateContactResponse resp;
    grpc::ClientContext ctx;
    Authorize(ctx, o);
    grpc::Status s = stub.CreateContact(&ctx, req, &resp);
    if (s.ok() && id) *id = resp.contact().id();
    if (!s.ok()) std::cerr << "create failed: " << s.error_code() << " " << s.error_message() << "\n";
    return s.ok();
}

// A lead with the same kind of person data as the contact creates, and a company name.
bool CreateLead(lv1::LeadsService::Stub& stub, const Options& o, std::mt19937_64& rng) {
    lv1::CreateLeadRequest req;
    const crm::bench::Person p = Names().Make(rng, rng());
    req.mutable_lead()->set_given_name(p.given);
    req.mutable_lead()->set_family_name(p.family);
    req.mutable_lead()->set_email(p.email);
    req.mutable_lead()->set_phone(p.phone);
    req.mutable_lead()->set_company_name(p.family + " Holdings");
    lv1::CreateLeadResponse resp;
    grpc::ClientContext ctx;
    Authorize(ctx, o);
    grpc::Status s = stub.CreateLead(&ctx, req, &resp);
    if (!s.ok()) std::cerr << "create lead failed: " << s.error_code() << " " << s.error_message() << "\n";
    return s.ok();
}

// An opportunity in the tenant's default pipeline, first stage.
bool CreateOpportunity(sv1::SalesService::Stub& stub, const Options& o, std::mt19937_64& rng) {
    sv1::CreateOpportunityRequest req;
    req.mutable_opportunity()->set_name("Deal " + std::to_string(rng() % 1000000));
    req.mutable_opportunity()->mutable_amount()->set_amount_minor(static_cast<std::int64_t>(rng() % 10000000));
    req.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    sv1::CreateOpportunityResponse resp;
    grpc::ClientContext ctx;
    Authorize(ctx, o);
    grpc::Status s = stub.CreateOpportunity(&ctx, req, &resp);
    if (!s.ok()) std::cerr << "create opportunity failed: " << s.error_code() << " " << s.error_message() << "\n";
    return s.ok();
}

bool Get(cv1::ContactsService::Stub& stub, const Options& o, const std::string& id) {
    cv1::GetContactRequest req;
    req.set_id(id);
    cv1::GetContactResponse resp;
    grpc::ClientContext ctx;
    Authorize(ctx, o);
    return stub.GetContact(&ctx, req, &resp).ok();
}

// Walks the tenant's contacts page by page (50 a page, keyset tokens), starting over at the end.
bool List(cv1::ContactsService::Stub& stub, const Options& o, std::string& token) {
    cv1::ListContactsRequest req;
    req.set_page_size(50);
    req.set_page_token(token);
    cv1::ListContactsResponse resp;
    grpc::ClientContext ctx;
    Authorize(ctx, o);
    if (!stub.ListContacts(&ctx, req, &resp).ok()) return false;
    token = resp.next_page_token();
    return true;
}

// Prefix search for a random name or email prefix of the seeded data ("given123", "family42", "p77").
bool Search(cv1::ContactsService::Stub& stub, const Options& o, std::mt19937_64& rng) {
    static const char* kPrefixes[] = {"given", "family", "p"};
    cv1::SearchContactsRequest req;
    req.set_query(std::string(kPrefixes[rng() % 3]) + std::to_string(rng() % 1000));
    req.set_page_size(20);
    cv1::SearchContactsResponse resp;
    grpc::ClientContext ctx;
    Authorize(ctx, o);
    return stub.SearchContacts(&ctx, req, &resp).ok();
}

// A qualified lead with a company, ready to convert (CreateLead + two status changes).
bool QualifiedLead(lv1::LeadsService::Stub& stub, const Options& o, std::mt19937_64& rng, std::string* id) {
    lv1::CreateLeadRequest req;
    const std::string n = std::to_string(rng());
    req.mutable_lead()->set_given_name("Bench" + n.substr(0, 6));
    req.mutable_lead()->set_family_name("Lead" + n.substr(6, 6));
    req.mutable_lead()->set_email("lead." + n + "@load.example");
    req.mutable_lead()->set_company_name("Bench Co " + n.substr(0, 4));
    lv1::CreateLeadResponse resp;
    grpc::ClientContext ctx;
    Authorize(ctx, o);
    if (!stub.CreateLead(&ctx, req, &resp).ok()) return false;
    for (auto status : {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_QUALIFIED}) {
        lv1::ChangeLeadStatusRequest move;
        move.set_id(resp.lead().id());
        move.set_status(status);
        lv1::ChangeLeadStatusResponse moved;
        grpc::ClientContext mctx;
        Authorize(mctx, o);
        if (!stub.ChangeLeadStatus(&mctx, move, &moved).ok()) return false;
    }
    *id = resp.lead().id();
    return true;
}

// Converts a lead: leads calls contacts for the company and the person, then marks the lead converted.
bool Convert(lv1::LeadsService::Stub& stub, const Options& o, const std::string& id) {
    lv1::ConvertLeadRequest req;
    req.set_id(id);
    lv1::ConvertLeadResponse resp;
    grpc::ClientContext ctx;
    Authorize(ctx, o);
    grpc::Status s = stub.ConvertLead(&ctx, req, &resp);
    if (!s.ok()) std::cerr << "convert failed: " << s.error_code() << " " << s.error_message() << "\n";
    return s.ok();
}

// The same calls over HTTP/JSON through the gateway, on one keep-alive connection per worker.
class HttpCalls {
  public:
    HttpCalls(const Options& o) : o_(o), client_(o.target) {}

    bool Create(std::mt19937_64& rng, std::string* id) {
        const crm::bench::Person p = Names().Make(rng, rng());
        nlohmann::json body = {{"givenName", p.given}, {"familyName", p.family}, {"email", p.email}};
        if (!p.phone.empty()) body["phone"] = p.phone;
        auto r = Send("POST", "/v1/contacts", body.dump());
        if (r.status != 200) {
            std::cerr << "create failed: HTTP " << r.status << " " << r.body.substr(0, 200) << "\n";
            return false;
        }
        if (id) *id = nlohmann::json::parse(r.body)["contact"]["id"].get<std::string>();
        return true;
    }
    bool Get(const std::string& id) { return Send("GET", "/v1/contacts/" + id).status == 200; }
    bool List(std::string& token) {
        auto r = Send("GET", "/v1/contacts?page_size=50" + (token.empty() ? "" : "&page_token=" + Escape(token)));
        if (r.status != 200) return false;
        const auto j = nlohmann::json::parse(r.body);
        token = j.contains("nextPageToken") ? j["nextPageToken"].get<std::string>() : "";
        return true;
    }
    bool Search(std::mt19937_64& rng) {
        static const char* kPrefixes[] = {"given", "family", "p"};
        const std::string q = std::string(kPrefixes[rng() % 3]) + std::to_string(rng() % 1000);
        return Send("GET", "/v1/contacts:search?page_size=20&query=" + q).status == 200;
    }

  private:
    static std::string Escape(const std::string& s) {
        std::string out;
        for (unsigned char c : s) {
            if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
                out += static_cast<char>(c);
            } else {
                char buf[4];
                std::snprintf(buf, sizeof buf, "%%%02X", c);
                out += buf;
            }
        }
        return out;
    }
    crm::test::HttpReply Send(const std::string& method, const std::string& target, const std::string& body = {}) {
        std::vector<std::pair<std::string, std::string>> headers = {{"authorization", "Bearer " + o_.token},
                                                                    {"x-server-timeout", "10"}};
        if (!body.empty()) headers.emplace_back("content-type", "application/json");
        try {
            return client_.Send(method, target, headers, body);
        } catch (const std::exception& e) {
            client_.Close();
            crm::test::HttpReply failed;
            failed.body = e.what();
            return failed;
        }
    }
    const Options& o_;
    crm::test::HttpClient client_;
};

double Percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    size_t idx = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(idx, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    Options o = Parse(argc, argv);
    if (o.emit_contacts >= 0) {  // CSV for a preload: given, family, email, phone, given/family/full name normalized
        std::mt19937_64 rng(o.seed);
        for (long i = 0; i < o.emit_contacts; ++i) {
            const crm::bench::Person p = Names().Make(rng, static_cast<std::uint64_t>(i));
            const std::string g = crm::bench::Lower(p.given), f = crm::bench::Lower(p.family);
            std::cout << p.given << ',' << p.family << ',' << p.email << ',' << p.phone << ',' << g << ',' << f << ','
                      << g << ' ' << f << '\n';
        }
        return 0;
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // A few connections, as several client processes would have.
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < std::min(o.concurrency, 4); ++i) {
        grpc::ChannelArguments a = args;
        a.SetInt("crm.bench.channel", i);  // distinct args -> distinct connections
        channels.push_back(o.mode == "direct"
                               ? crm::common::MakeDownstreamChannel(o.target, grpc::InsecureChannelCredentials(), a)
                               : grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), a));
    }

    std::vector<std::string> ids;
    if (o.rpc == "get") {
        auto stub = cv1::ContactsService::NewStub(channels[0]);
        HttpCalls http(o);
        std::mt19937_64 rng(std::random_device{}());
        for (int i = 0; i < o.preload; ++i) {
            std::string id;
            if (!(o.mode == "http" ? http.Create(rng, &id) : Create(*stub, o, rng, &id))) return 1;
            ids.push_back(id);
        }
    }

    if (o.rpc == "convert") {  // a pool of qualified leads, prepared in parallel before the clock starts
        ids.resize(static_cast<size_t>(o.preload));
        std::atomic<int> next{0};
        std::atomic<bool> failed{false};
        std::vector<std::thread> preparers;
        for (int t = 0; t < o.concurrency; ++t) {
            preparers.emplace_back([&, t] {
                auto stub = lv1::LeadsService::NewStub(channels[t % channels.size()]);
                std::mt19937_64 rng(std::random_device{}());
                for (int i = next++; i < o.preload && !failed; i = next++) {
                    if (!QualifiedLead(*stub, o, rng, &ids[static_cast<size_t>(i)])) failed = true;
                }
            });
        }
        for (auto& th : preparers) th.join();
        if (failed) return 1;
    }
    std::atomic<size_t> next_lead{0};

    std::atomic<bool> go{false};
    std::atomic<long> errors{0};
    std::vector<std::vector<double>> latencies(o.concurrency);
    std::vector<std::thread> threads;
    const auto duration = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
    Clock::time_point start, stop;
    for (int t = 0; t < o.concurrency; ++t) {
        threads.emplace_back([&, t] {
            auto stub = cv1::ContactsService::NewStub(channels[t % channels.size()]);
            auto leads = lv1::LeadsService::NewStub(channels[t % channels.size()]);
            auto sales = sv1::SalesService::NewStub(channels[t % channels.size()]);
            HttpCalls http(o);
            const bool over_http = o.mode == "http";
            std::mt19937_64 rng(o.seed ? o.seed + static_cast<std::uint64_t>(t) : std::random_device{}());
            while (!go.load()) std::this_thread::yield();
            std::string page_token;
            // Open loop: this worker sends calls t, t + N, t + 2N, ... each at its due time start + i / rate.
            const auto interval =
                o.rate > 0 ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.rate))
                           : Clock::duration::zero();
            for (long n = t;; n += o.concurrency) {
                auto t0 = Clock::now();
                if (o.rate > 0) {
                    const auto due = start + interval * n;
                    if (due >= stop) break;
                    std::this_thread::sleep_until(due);
                    t0 = due;
                } else if (t0 >= stop) {
                    break;
                }
                bool ok = false;
                if (o.rpc == "create")
                    ok = over_http ? http.Create(rng, nullptr) : Create(*stub, o, rng, nullptr);
                else if (o.rpc == "create-lead")
                    ok = CreateLead(*leads, o, rng);
                else if (o.rpc == "create-opportunity")
                    ok = CreateOpportunity(*sales, o, rng);
                else if (o.rpc == "get")
                    ok = over_http ? http.Get(ids[rng() % ids.size()]) : Get(*stub, o, ids[rng() % ids.size()]);
                else if (o.rpc == "list")
                    ok = over_http ? http.List(page_token) : List(*stub, o, page_token);
                else if (o.rpc == "convert") {
                    const size_t i = next_lead++;
                    if (i >= ids.size()) break;  // the pool is used up
                    ok = Convert(*leads, o, ids[i]);
                } else
                    ok = over_http ? http.Search(rng) : Search(*stub, o, rng);
                const auto t1 = Clock::now();
                if (ok) {
                    latencies[t].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
                } else {
                    errors.fetch_add(1);
                }
            }
        });
    }
    start = Clock::now() + std::chrono::milliseconds(20);
    stop = start + duration;
    go.store(true);
    for (auto& th : threads) th.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    nlohmann::json out = {{"mode", o.mode},
                          {"rpc", o.rpc},
                          {"concurrency", o.concurrency},
                          {"offered_rps", o.rate},
                          {"requests", all.size()},
                          {"errors", errors.load()},
                          {"calls", static_cast<long>(all.size()) + errors.load()},
                          {"seconds", elapsed},
                          {"rps", static_cast<double>(all.size()) / elapsed},
                          {"p50_ms", Percentile(all, 0.50)},
                          {"p99_ms", Percentile(all, 0.99)}};
    std::cout << out.dump() << std::endl;
    return errors.load() > 0 && all.empty() ? 1 : 0;
}
