// crm-support-bench: closed-loop load on support RPCs through the gateway (fixed concurrency and duration), printing
// one JSON line with throughput and latency percentiles (the format tests/bench/interleave.py reads). Used by
// tests/bench/support.sh.
//   crm-support-bench --token T --rpc ingest --concurrency N --seconds S     IngestEmail, a new thread each call
//   crm-support-bench --token T --rpc search --concurrency N --seconds S     SearchArticles over the seeded words
//   crm-support-bench --token T --rpc view --contact ID ...                  GetCustomer360
//   crm-support-bench --token T --rpc contact|opps-open|opps-won|activities|lead|member|engagement --contact ID ...
//       one of the calls GetCustomer360 makes (the same request, through the gateway instead of directly)
//   crm-support-bench --token T --rpc fanout --contact ID ...
//       the view's seven calls issued at once by this client (through the gateway, the same identity, one channel),
//       timed until the last answers: the slowest of the fan-out calls as this hardware runs them in parallel
// A view counts as failed when the RPC fails or any of its sections is not OK (the bench customer has every section);
// a fan-out when any of its seven calls fails. Failed calls are counted in "errors" and left out of the latencies.
// The test support it reuses (token and deadline handling) asserts with Catch2; this defines Catch2's implementation
// without its main().
#define CATCH_CONFIG_RUNNER
#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <crm/leads/v1/leads.grpc.pb.h>
#include <crm/marketing/v1/marketing.grpc.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>
#include <crm/support/v1/customer360.grpc.pb.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "knowledge_client.hpp"
#include "support_client.hpp"

using namespace crm::test;
using Clock = std::chrono::steady_clock;

namespace {

double Percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

template <class Stub, class Req, class Resp>
grpc::Status Call(Stub& stub, const std::string& method, const std::string& token,
                  grpc::Status (Stub::*fn)(grpc::ClientContext*, const Req&, Resp*), const Req& req) {
    grpc::ClientContext ctx;
    PrepareFor(ctx, method, token);
    Resp resp;
    return (stub.*fn)(&ctx, req, &resp);
}

namespace cv1 = crm::contacts::v1;
namespace sv1 = crm::sales::v1;
namespace lv1 = crm::leads::v1;
namespace mv1 = crm::marketing::v1;

// The view's seven calls at once through the callback API (as the view makes them: no thread per call), each with
// the same request the view sends; returns the first failure, or OK when all seven answered OK.
class Fanout {
  public:
    Fanout(std::shared_ptr<grpc::Channel> channel, std::string token, std::string contact)
        : token_(std::move(token)),
          contacts_(cv1::ContactsService::NewStub(channel)),
          sales_(sv1::SalesService::NewStub(channel)),
          leads_(lv1::LeadsService::NewStub(channel)),
          marketing_(mv1::MarketingService::NewStub(channel)) {
        contact_req_.set_id(contact);
        contact_req_.set_include_company(true);
        for (auto [req, status] :
             {std::pair{&open_req_, sv1::OPPORTUNITY_STATUS_OPEN}, std::pair{&won_req_, sv1::OPPORTUNITY_STATUS_WON}}) {
            req->set_contact_id(contact);
            req->set_status(status);
            req->set_page_size(20);
        }
        activities_req_.set_record_type(sv1::RECORD_TYPE_CONTACT);
        activities_req_.set_record_id(contact);
        activities_req_.set_page_size(20);
        lead_req_.set_contact_id(contact);
        lead_req_.set_page_size(1);
        member_req_.set_id(contact);
        engagements_req_.set_person_id(contact);
        engagements_req_.set_page_size(20);
    }

    grpc::Status Run() {
        struct State {
            std::mutex mutex;
            std::condition_variable done;
            int outstanding = 7;
            grpc::Status first_error;
            grpc::ClientContext ctx[7];
            cv1::GetContactResponse contact;
            sv1::ListOpportunitiesResponse open, won;
            sv1::ListActivitiesResponse activities;
            lv1::ListLeadsResponse lead;
            mv1::GetAudienceMemberResponse member;
            mv1::ListPersonEngagementResponse engagements;
        } st;
        auto finish = [&st](grpc::Status status) {
            std::lock_guard lock(st.mutex);
            if (!status.ok() && st.first_error.ok()) st.first_error = status;
            if (--st.outstanding == 0) st.done.notify_all();
        };
        const std::string methods[7] = {RpcName<cv1::ContactsService>("GetContact"),
                                        RpcName<sv1::SalesService>("ListOpportunities"),
                                        RpcName<sv1::SalesService>("ListOpportunities"),
                                        RpcName<sv1::SalesService>("ListActivities"),
                                        RpcName<lv1::LeadsService>("ListLeads"),
                                        RpcName<mv1::MarketingService>("GetAudienceMember"),
                                        RpcName<mv1::MarketingService>("ListPersonEngagement")};
        for (int i = 0; i < 7; ++i) PrepareFor(st.ctx[i], methods[i], token_);
        contacts_->async()->GetContact(&st.ctx[0], &contact_req_, &st.contact, finish);
        sales_->async()->ListOpportunities(&st.ctx[1], &open_req_, &st.open, finish);
        sales_->async()->ListOpportunities(&st.ctx[2], &won_req_, &st.won, finish);
        sales_->async()->ListActivities(&st.ctx[3], &activities_req_, &st.activities, finish);
        leads_->async()->ListLeads(&st.ctx[4], &lead_req_, &st.lead, finish);
        marketing_->async()->GetAudienceMember(&st.ctx[5], &member_req_, &st.member, finish);
        marketing_->async()->ListPersonEngagement(&st.ctx[6], &engagements_req_, &st.engagements, finish);
        std::unique_lock lock(st.mutex);
        st.done.wait(lock, [&] { return st.outstanding == 0; });  // every call has a deadline (PrepareFor)
        return st.first_error;
    }

  private:
    std::string token_;
    std::unique_ptr<cv1::ContactsService::Stub> contacts_;
    std::unique_ptr<sv1::SalesService::Stub> sales_;
    std::unique_ptr<lv1::LeadsService::Stub> leads_;
    std::unique_ptr<mv1::MarketingService::Stub> marketing_;
    cv1::GetContactRequest contact_req_;
    sv1::ListOpportunitiesRequest open_req_, won_req_;
    sv1::ListActivitiesRequest activities_req_;
    lv1::ListLeadsRequest lead_req_;
    mv1::GetAudienceMemberRequest member_req_;
    mv1::ListPersonEngagementRequest engagements_req_;
};

// The first section of a view answer that is not OK, "" when all are.
std::string MissingSection(const crm::support::v1::GetCustomer360Response& r) {
    const std::pair<const char*, const crm::support::v1::SectionState*> sections[] = {
        {"contact", &r.contact_section()},
        {"sales", &r.sales_section()},
        {"lead", &r.lead_section()},
        {"cases", &r.cases_section()},
        {"marketing", &r.marketing_section()}};
    for (const auto& [name, state] : sections) {
        if (state->status() != crm::support::v1::SECTION_STATUS_OK) {
            return std::string(name) + " " + crm::support::v1::SectionStatus_Name(state->status());
        }
    }
    return "";
}

std::string RawEmail(const std::string& id, int sender) {
    return "From: Customer " + std::to_string(sender) + " <customer" + std::to_string(sender) +
           "@bench.example>\r\nTo: support@example.com\r\nSubject: Printer " + id + " does not print\r\nMessage-ID: <" +
           id +
           "@bench.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\nmy "
           "printer shows error E42 since this morning. Can you help?\r\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::string token, rpc = "search", label = "run", contact;
    int concurrency = 4, seconds = 10;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--token")
            token = next();
        else if (a == "--rpc")
            rpc = next();
        else if (a == "--label")
            label = next();
        else if (a == "--contact")
            contact = next();
        else if (a == "--concurrency")
            concurrency = std::stoi(next());
        else if (a == "--seconds")
            seconds = std::stoi(next());
        else {
            std::cerr << "unknown argument " << a << "\n";
            return 2;
        }
    }
    auto channel = GatewayChannel();
    SupportClient support(token, channel);
    KnowledgeClient kb(token, channel);
    auto view = crm::support::v1::CustomerViewService::NewStub(channel);
    auto contacts = crm::contacts::v1::ContactsService::NewStub(channel);
    auto sales = crm::sales::v1::SalesService::NewStub(channel);
    auto leads = crm::leads::v1::LeadsService::NewStub(channel);
    auto marketing = crm::marketing::v1::MarketingService::NewStub(channel);
    Fanout fanout(channel, token, contact);
    if (rpc == "setup-view") {
        // A customer for GetCustomer360: a converted lead (contact, company, open opportunity), a won opportunity, an
        // activity, two cases; waits until marketing has its record. Prints the contact id.
        lv1::CreateLeadRequest lead;
        lead.mutable_lead()->set_given_name("Bench");
        lead.mutable_lead()->set_family_name("Customer");
        lead.mutable_lead()->set_email("bench-" + std::to_string(std::random_device()()) + "@bench.example");
        lead.mutable_lead()->set_company_name("Bench Corp " + std::to_string(std::random_device()()));
        lead.mutable_lead()->set_source("bench");
        lv1::CreateLeadResponse made;
        grpc::Status s;
        {
            grpc::ClientContext ctx;
            PrepareFor(ctx, RpcName<lv1::LeadsService>("CreateLead"), token);
            s = leads->CreateLead(&ctx, lead, &made);
        }
        for (auto status : {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_QUALIFIED}) {
            if (!s.ok()) break;
            lv1::ChangeLeadStatusRequest req;
            req.set_id(made.lead().id());
            req.set_status(status);
            s = Call(*leads, RpcName<lv1::LeadsService>("ChangeLeadStatus"), token,
                     &lv1::LeadsService::Stub::ChangeLeadStatus, req);
        }
        lv1::ConvertLeadResponse converted;
        if (s.ok()) {
            lv1::ConvertLeadRequest req;
            req.set_id(made.lead().id());
            req.set_create_opportunity(true);
            req.mutable_opportunity()->set_name("Bench deal");
            req.mutable_opportunity()->mutable_amount()->set_amount_minor(100000);
            req.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
            grpc::ClientContext ctx;
            PrepareFor(ctx, RpcName<lv1::LeadsService>("ConvertLead"), token);
            s = leads->ConvertLead(&ctx, req, &converted);
        }
        const std::string id = converted.conversion().contact_id();
        if (s.ok()) {
            sv1::CreateActivityRequest req;
            req.mutable_activity()->set_type(sv1::ACTIVITY_TYPE_CALL);
            req.mutable_activity()->set_subject("Bench call");
            req.mutable_activity()->set_contact_id(id);
            s = Call(*sales, RpcName<sv1::SalesService>("CreateActivity"), token,
                     &sv1::SalesService::Stub::CreateActivity, req);
        }
        for (int i = 0; i < 2 && s.ok(); ++i) {
            crm::support::v1::CreateCaseRequest req;
            req.mutable_case_()->set_subject("Bench case " + std::to_string(i));
            req.mutable_case_()->set_contact_id(id);
            s = support.CreateCase(req).status;
        }
        for (int i = 0; i < 240 && s.ok(); ++i) {  // marketing builds its record from contacts' events
            crm::marketing::v1::GetAudienceMemberRequest req;
            req.set_id(id);
            if (Call(*marketing, RpcName<crm::marketing::v1::MarketingService>("GetAudienceMember"), token,
                     &crm::marketing::v1::MarketingService::Stub::GetAudienceMember, req)
                    .ok()) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        if (!s.ok()) {
            std::cerr << "setup failed: " << s.error_code() << " " << s.error_message() << "\n";
            return 1;
        }
        std::cout << id << "\n";
        return 0;
    }
    // The words seeded by support.sh: "w<n>" with n < 3000.
    const std::vector<std::string> queries = {"w17",  "w301 w17", "w1001", "w42 OR w7", "w2500",
                                              "w999", "w5 w1500", "w123",  "w2024",     "w88"};
    std::mutex mutex;
    std::vector<double> latencies;
    std::atomic<long> errors{0};
    std::atomic<long> sequence{0};
    const std::string run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    const auto started = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
            std::vector<double> mine;
            while (Clock::now() < deadline) {
                const auto t0 = Clock::now();
                grpc::Status status;
                if (rpc == "ingest") {
                    crm::support::v1::IngestEmailRequest req;
                    req.set_raw_message(RawEmail(run + "." + std::to_string(sequence++), static_cast<int>(rng() % 50)));
                    status = support.IngestEmail(req).status;
                } else if (rpc == "search") {
                    crm::support::v1::SearchArticlesRequest req;
                    req.set_query(queries[rng() % queries.size()]);
                    req.set_locale("en");
                    status = kb.SearchArticles(req).status;
                } else if (rpc == "view") {
                    crm::support::v1::GetCustomer360Request req;
                    req.set_contact_id(contact);
                    crm::support::v1::GetCustomer360Response resp;
                    grpc::ClientContext ctx;
                    PrepareFor(ctx, RpcName<crm::support::v1::CustomerViewService>("GetCustomer360"), token);
                    status = view->GetCustomer360(&ctx, req, &resp);
                    if (status.ok()) {
                        if (const std::string missing = MissingSection(resp); !missing.empty()) {
                            status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "section " + missing);
                        }
                    }
                } else if (rpc == "fanout") {
                    status = fanout.Run();
                } else if (rpc == "contact") {
                    crm::contacts::v1::GetContactRequest req;
                    req.set_id(contact);
                    req.set_include_company(true);  // as the view asks
                    status = Call(*contacts, RpcName<crm::contacts::v1::ContactsService>("GetContact"), token,
                                  &crm::contacts::v1::ContactsService::Stub::GetContact, req);
                } else if (rpc == "opps-open" || rpc == "opps-won") {
                    crm::sales::v1::ListOpportunitiesRequest req;
                    req.set_contact_id(contact);
                    req.set_status(rpc == "opps-open" ? crm::sales::v1::OPPORTUNITY_STATUS_OPEN
                                                      : crm::sales::v1::OPPORTUNITY_STATUS_WON);
                    req.set_page_size(20);
                    status = Call(*sales, RpcName<crm::sales::v1::SalesService>("ListOpportunities"), token,
                                  &crm::sales::v1::SalesService::Stub::ListOpportunities, req);
                } else if (rpc == "activities") {
                    crm::sales::v1::ListActivitiesRequest req;
                    req.set_record_type(crm::sales::v1::RECORD_TYPE_CONTACT);
                    req.set_record_id(contact);
                    req.set_page_size(20);
                    status = Call(*sales, RpcName<crm::sales::v1::SalesService>("ListActivities"), token,
                                  &crm::sales::v1::SalesService::Stub::ListActivities, req);
                } else if (rpc == "lead") {
                    crm::leads::v1::ListLeadsRequest req;
                    req.set_contact_id(contact);
                    req.set_page_size(1);
                    status = Call(*leads, RpcName<crm::leads::v1::LeadsService>("ListLeads"), token,
                                  &crm::leads::v1::LeadsService::Stub::ListLeads, req);
                } else if (rpc == "member") {
                    crm::marketing::v1::GetAudienceMemberRequest req;
                    req.set_id(contact);
                    status = Call(*marketing, RpcName<crm::marketing::v1::MarketingService>("GetAudienceMember"), token,
                                  &crm::marketing::v1::MarketingService::Stub::GetAudienceMember, req);
                } else if (rpc == "engagement") {
                    crm::marketing::v1::ListPersonEngagementRequest req;
                    req.set_person_id(contact);
                    req.set_page_size(20);
                    status = Call(*marketing, RpcName<crm::marketing::v1::MarketingService>("ListPersonEngagement"),
                                  token, &crm::marketing::v1::MarketingService::Stub::ListPersonEngagement, req);
                } else {
                    std::cerr << "unknown --rpc " << rpc << "\n";
                    std::exit(2);
                }
                if (!status.ok()) {
                    if (++errors == 1)
                        std::cerr << "error: " << status.error_code() << " " << status.error_message() << "\n";
                    continue;
                }
                mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            }
            std::lock_guard lock(mutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    for (auto& th : threads) th.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    const auto calls = static_cast<long>(latencies.size());
    const double p50 = Percentile(latencies, 0.5);
    const double p99 = Percentile(latencies, 0.99);
    std::cout << "{\"label\":\"" << label << "\",\"rpc\":\"" << rpc << "\",\"calls\":" << calls
              << ",\"errors\":" << errors.load() << ",\"rps\":" << static_cast<double>(calls) / elapsed
              << ",\"p50_ms\":" << p50 << ",\"p99_ms\":" << p99 << ",\"concurrency\":" << concurrency << "}\n";
    return errors.load() > 0 && calls == 0 ? 1 : 0;
}
