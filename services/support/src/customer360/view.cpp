#include "customer360/view.hpp"

#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <crm/leads/v1/leads.grpc.pb.h>
#include <crm/marketing/v1/marketing.grpc.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <iterator>
#include <mutex>

#include "cases/cases.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "sentiment/sentiment.hpp"

namespace crm::support::customer360 {
namespace {

namespace cv1 = crm::contacts::v1;
namespace sv1 = crm::sales::v1;
namespace lv1 = crm::leads::v1;
namespace mv1 = crm::marketing::v1;
using Clock = std::chrono::steady_clock;

constexpr int kMaxOpportunities = 20;
constexpr int kMaxActivities = 20;
constexpr int kMaxOpenCases = 20;
constexpr int kMaxRecentCases = 10;
constexpr int kMaxEngagements = 20;
// The sections as crm_support_view_sections_total names them.
constexpr const char* kSections[] = {"contact", "sales", "lead", "cases", "marketing"};

// "ok", "not_found", "unavailable", "deadline_exceeded", "not_configured".
std::string StatusLabel(v1::SectionStatus status) {
    std::string name = v1::SectionStatus_Name(status);
    name = name.substr(name.rfind("SECTION_STATUS_", 0) == 0 ? 15 : 0);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return name;
}

std::int64_t MillisSince(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// The state of a section from the status of one of its calls.
v1::SectionState StateOf(const grpc::Status& s, std::int64_t elapsed_ms) {
    v1::SectionState state;
    state.set_elapsed_ms(elapsed_ms);
    switch (s.error_code()) {
        case grpc::StatusCode::OK:
            state.set_status(v1::SECTION_STATUS_OK);
            return state;
        case grpc::StatusCode::NOT_FOUND:
            state.set_status(v1::SECTION_STATUS_NOT_FOUND);
            break;
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            state.set_status(v1::SECTION_STATUS_DEADLINE_EXCEEDED);
            break;
        default:
            state.set_status(v1::SECTION_STATUS_UNAVAILABLE);
    }
    state.set_detail(common::StatusCodeName(s.error_code()));
    return state;
}

v1::SectionState NotConfigured() {
    v1::SectionState state;
    state.set_status(v1::SECTION_STATUS_NOT_CONFIGURED);
    state.set_detail("no address configured for this service");
    return state;
}

// A section that did not finish while the handler waited (its call still runs and is cancelled).
v1::SectionState Unfinished(Clock::time_point start) {
    v1::SectionState state;
    state.set_status(v1::SECTION_STATUS_DEADLINE_EXCEEDED);
    state.set_detail("DEADLINE_EXCEEDED");
    state.set_elapsed_ms(MillisSince(start));
    return state;
}

// Summaries of the other services' records (their enums by name).
v1::ContactSummary Summary(const cv1::Contact& c) {
    v1::ContactSummary out;
    out.set_id(c.id());
    out.set_display_name(c.display_name());
    out.set_email(c.email());
    out.set_phone(c.phone());
    out.set_job_title(c.job_title());
    out.set_company_id(c.company_id());
    out.set_owner_id(c.owner_id());
    out.set_state(cv1::ContactState_Name(c.state()));
    out.set_email_consent(cv1::ConsentStatus_Name(c.email_consent().status()));
    *out.mutable_create_time() = c.create_time();
    return out;
}

v1::CompanySummary Summary(const cv1::Company& c) {
    v1::CompanySummary out;
    out.set_id(c.id());
    out.set_name(c.name());
    out.set_domain(c.domain());
    out.set_industry(c.industry());
    return out;
}

v1::OpportunitySummary Summary(const sv1::Opportunity& o) {
    v1::OpportunitySummary out;
    out.set_id(o.id());
    out.set_name(o.name());
    out.set_stage_name(o.stage_name());
    out.set_status(sv1::OpportunityStatus_Name(o.status()));
    *out.mutable_amount() = o.amount();
    out.set_expected_close_date(o.expected_close_date());
    out.set_owner_id(o.owner_id());
    if (o.has_close_time()) *out.mutable_close_time() = o.close_time();
    return out;
}

v1::ActivitySummary Summary(const sv1::Activity& a) {
    v1::ActivitySummary out;
    out.set_id(a.id());
    out.set_type(sv1::ActivityType_Name(a.type()));
    out.set_subject(a.subject());
    out.set_status(sv1::ActivityStatus_Name(a.status()));
    out.set_owner_id(a.owner_id());
    if (a.has_due_time()) *out.mutable_due_time() = a.due_time();
    if (a.has_complete_time()) *out.mutable_complete_time() = a.complete_time();
    *out.mutable_create_time() = a.create_time();
    return out;
}

v1::LeadSummary Summary(const lv1::Lead& l) {
    v1::LeadSummary out;
    out.set_id(l.id());
    out.set_source(l.source());
    out.set_campaign_id(l.campaign_id());
    out.set_status(lv1::LeadStatus_Name(l.status()));
    out.set_owner_id(l.owner_id());
    *out.mutable_create_time() = l.create_time();
    if (l.conversion().has_convert_time()) *out.mutable_convert_time() = l.conversion().convert_time();
    return out;
}

v1::MarketingSummary Summary(const mv1::AudienceMember& m) {
    v1::MarketingSummary out;
    out.set_state(m.state());
    out.set_consent(m.consent());
    *out.mutable_tags() = m.tags();
    out.set_lead_source(m.lead_source());
    out.set_lead_score(m.lead_score());
    *out.mutable_update_time() = m.update_time();
    return out;
}

v1::MarketingEngagement Summary(const mv1::PersonEngagement& e) {
    v1::MarketingEngagement out;
    out.set_type(e.type());
    out.set_campaign_id(e.campaign_id());
    out.set_campaign_name(e.campaign_name());
    out.set_channel(e.channel());
    *out.mutable_occur_time() = e.occur_time();
    return out;
}

}  // namespace

struct CustomerView::Stubs {
    std::unique_ptr<cv1::ContactsService::Stub> contacts;
    std::unique_ptr<sv1::SalesService::Stub> sales;
    std::unique_ptr<lv1::LeadsService::Stub> leads;
    std::unique_ptr<mv1::MarketingService::Stub> marketing;
};

namespace {

// Everything the calls in flight touch: shared with their callbacks, so that it outlives a handler that stopped
// waiting. Each call writes its own response and, under the mutex, its status; the handler reads a response only
// after its call is marked done.
struct Fanout {
    common::RequestContext rc;
    std::string internal_key;
    std::chrono::milliseconds timeout;
    std::shared_ptr<const CustomerView::Stubs> stubs;
    Clock::time_point start = Clock::now();

    std::mutex mutex;
    std::condition_variable changed;
    int outstanding = 0;

    struct Call {
        grpc::ClientContext ctx;
        bool started = false;
        bool done = false;
        grpc::Status status;
        Clock::time_point end;
    };
    Call contact, open_opps, won_opps, activities, lead, member, engagements;
    cv1::GetContactRequest contact_req;
    cv1::GetContactResponse contact_resp;
    sv1::ListOpportunitiesRequest open_req, won_req;
    sv1::ListOpportunitiesResponse open_resp, won_resp;
    sv1::ListActivitiesRequest activities_req;
    sv1::ListActivitiesResponse activities_resp;
    lv1::ListLeadsRequest lead_req;
    lv1::ListLeadsResponse lead_resp;
    mv1::GetAudienceMemberRequest member_req;
    mv1::GetAudienceMemberResponse member_resp;
    mv1::ListPersonEngagementRequest engagements_req;
    mv1::ListPersonEngagementResponse engagements_resp;

    void Prepare(Call& call) {
        common::PrepareDownstreamCall(call.ctx, rc, internal_key, timeout);
        std::lock_guard lock(mutex);
        call.started = true;
        ++outstanding;
    }
    void Finish(Call& call, const grpc::Status& status) {
        std::lock_guard lock(mutex);
        call.status = status;
        call.done = true;
        call.end = Clock::now();
        // The handler waits for all of them: waking it at each answer would cost a context switch per call on
        // cores the calls' services are using.
        if (--outstanding == 0) changed.notify_all();
    }
};

template <class F>
auto Done(const std::shared_ptr<Fanout>& f, Fanout::Call& call, F&& then) {
    return [f, &call, then = std::forward<F>(then)](grpc::Status status) {
        then(status);
        f->Finish(call, status);
    };
}

}  // namespace

CustomerView::CustomerView(common::Db& db, Settings settings, common::Metrics& metrics)
    : db_(db),
      settings_(std::move(settings)),
      stubs_(std::make_shared<Stubs>()),
      sections_(prometheus::BuildCounter()
                    .Name("crm_support_view_sections_total")
                    .Help("Sections of GetCustomer360 answers by section and outcome (ok, not_found, unavailable, "
                          "deadline_exceeded, not_configured).")
                    .Register(metrics.registry())) {
    auto& seconds = prometheus::BuildHistogram()
                        .Name("crm_support_view_section_seconds")
                        .Help(
                            "Time each section of GetCustomer360 took from the start of the view (its slowest call, "
                            "or the cases' read), by section.")
                        .Register(metrics.registry());
    for (std::size_t i = 0; i < std::size(kSections); ++i) {
        section_seconds_[i] = &seconds.Add({{"section", kSections[i]}}, common::Metrics::LatencyBuckets());
    }
    // Every series exists from the start (at 0), so that rates and alerts see them before the first failure.
    for (const char* section : kSections) {
        for (int status = v1::SECTION_STATUS_OK; status <= v1::SECTION_STATUS_NOT_CONFIGURED; ++status) {
            sections_.Add({{"section", section}, {"status", StatusLabel(static_cast<v1::SectionStatus>(status))}});
        }
    }
    const auto credentials = common::MakeChannelCredentials(settings_.tls);
    auto channel = [&](const std::string& addr) { return common::MakeDownstreamChannel(addr, credentials); };
    if (!settings_.contacts_addr.empty())
        stubs_->contacts = cv1::ContactsService::NewStub(channel(settings_.contacts_addr));
    if (!settings_.sales_addr.empty()) stubs_->sales = sv1::SalesService::NewStub(channel(settings_.sales_addr));
    if (!settings_.leads_addr.empty()) stubs_->leads = lv1::LeadsService::NewStub(channel(settings_.leads_addr));
    if (!settings_.marketing_addr.empty()) {
        stubs_->marketing = mv1::MarketingService::NewStub(channel(settings_.marketing_addr));
    }
}

CustomerView::~CustomerView() = default;

v1::GetCustomer360Response CustomerView::Get(const common::RequestContext& rc, const std::string& contact_id) {
    auto f = std::make_shared<Fanout>();
    f->rc = rc;
    f->internal_key = settings_.internal_key;
    f->timeout = settings_.section_timeout;
    f->stubs = stubs_;
    const auto deadline = Clock::now() + rc.Remaining(settings_.section_timeout);

    // contacts: the person and their company in one call (include_company: no second call chained after the first).
    if (stubs_->contacts) {
        f->contact_req.set_id(contact_id);
        f->contact_req.set_include_company(true);
        f->Prepare(f->contact);
        stubs_->contacts->async()->GetContact(&f->contact.ctx, &f->contact_req, &f->contact_resp,
                                              Done(f, f->contact, [](const grpc::Status&) {}));
    }
    // sales: open and won opportunities, recent activities.
    if (stubs_->sales) {
        for (auto [req, status] : {std::pair{&f->open_req, sv1::OPPORTUNITY_STATUS_OPEN},
                                   std::pair{&f->won_req, sv1::OPPORTUNITY_STATUS_WON}}) {
            req->set_contact_id(contact_id);
            req->set_status(status);
            req->set_page_size(kMaxOpportunities);
        }
        f->Prepare(f->open_opps);
        stubs_->sales->async()->ListOpportunities(&f->open_opps.ctx, &f->open_req, &f->open_resp,
                                                  Done(f, f->open_opps, [](const grpc::Status&) {}));
        f->Prepare(f->won_opps);
        stubs_->sales->async()->ListOpportunities(&f->won_opps.ctx, &f->won_req, &f->won_resp,
                                                  Done(f, f->won_opps, [](const grpc::Status&) {}));
        f->activities_req.set_record_type(sv1::RECORD_TYPE_CONTACT);
        f->activities_req.set_record_id(contact_id);
        f->activities_req.set_page_size(kMaxActivities);
        f->Prepare(f->activities);
        stubs_->sales->async()->ListActivities(&f->activities.ctx, &f->activities_req, &f->activities_resp,
                                               Done(f, f->activities, [](const grpc::Status&) {}));
    }
    // leads: the lead converted to this contact.
    if (stubs_->leads) {
        f->lead_req.set_contact_id(contact_id);
        f->lead_req.set_page_size(1);
        f->Prepare(f->lead);
        stubs_->leads->async()->ListLeads(&f->lead.ctx, &f->lead_req, &f->lead_resp,
                                          Done(f, f->lead, [](const grpc::Status&) {}));
    }
    // marketing: its audience record of the person and their latest engagements.
    if (stubs_->marketing) {
        f->member_req.set_id(contact_id);
        f->Prepare(f->member);
        stubs_->marketing->async()->GetAudienceMember(&f->member.ctx, &f->member_req, &f->member_resp,
                                                      Done(f, f->member, [](const grpc::Status&) {}));
        f->engagements_req.set_person_id(contact_id);
        f->engagements_req.set_page_size(kMaxEngagements);
        f->Prepare(f->engagements);
        stubs_->marketing->async()->ListPersonEngagement(&f->engagements.ctx, &f->engagements_req, &f->engagements_resp,
                                                         Done(f, f->engagements, [](const grpc::Status&) {}));
    }

    // support's own cases, on this thread while the calls are in flight.
    v1::GetCustomer360Response out;
    out.set_contact_id(contact_id);
    const auto cases_start = Clock::now();
    Clock::time_point cases_end;
    try {
        db_.InTenant(rc, [&](pqxx::work& tx) {
            // One statement for both lists (not one per case): this runs while the calls are in flight.
            cases::ContactCases found =
                cases::LoadContactCases(db_, tx, rc.tenant_id, contact_id, kMaxOpenCases, kMaxRecentCases);
            for (auto& c : found.open) *out.add_open_cases() = std::move(c);
            for (auto& c : found.recent) *out.add_recent_cases() = std::move(c);
            std::vector<std::string> ids;
            for (const auto* list : {&out.open_cases(), &out.recent_cases()}) {
                for (const auto& c : *list) {
                    if (std::find(ids.begin(), ids.end(), c.id()) == ids.end()) ids.push_back(c.id());
                }
            }
            for (auto& trend : sentiment::TrendsOf(db_, tx, rc.tenant_id, ids)) {
                *out.add_case_sentiments() = std::move(trend);
            }
        });
        cases_end = Clock::now();
        *out.mutable_cases_section() = StateOf(grpc::Status::OK, MillisSince(cases_start));
    } catch (const std::exception& e) {
        common::log::Warn("customer view: cases could not be read", {{"error", e.what()}});
        out.clear_open_cases();
        out.clear_recent_cases();
        out.clear_case_sentiments();
        cases_end = Clock::now();
        *out.mutable_cases_section() =
            StateOf(grpc::Status(grpc::StatusCode::UNAVAILABLE, ""), MillisSince(cases_start));
    }

    // Every call ends by its deadline (gRPC enforces it); a little slack for the callbacks to run, then whatever has
    // not finished is marked and cancelled.
    std::unique_lock lock(f->mutex);
    f->changed.wait_until(lock, deadline + std::chrono::milliseconds(50), [&] { return f->outstanding == 0; });
    for (Fanout::Call* call :
         {&f->contact, &f->open_opps, &f->won_opps, &f->activities, &f->lead, &f->member, &f->engagements}) {
        if (call->started && !call->done) call->ctx.TryCancel();
    }
    auto state = [&](Fanout::Call& call) {
        if (!call.done) return Unfinished(f->start);
        return StateOf(call.status, std::chrono::duration_cast<std::chrono::milliseconds>(call.end - f->start).count());
    };

    if (!stubs_->contacts) {
        *out.mutable_contact_section() = NotConfigured();
    } else {
        if (f->contact.done && f->contact.status.error_code() == grpc::StatusCode::NOT_FOUND) {
            throw common::ApiError::NotFound("contact", contact_id);
        }
        *out.mutable_contact_section() = state(f->contact);
        if (f->contact.done && f->contact.status.ok()) {
            *out.mutable_contact() = Summary(f->contact_resp.contact());
            if (f->contact_resp.has_company()) *out.mutable_company() = Summary(f->contact_resp.company());
        }
    }
    if (!stubs_->sales) {
        *out.mutable_sales_section() = NotConfigured();
    } else {
        v1::SectionState s;
        s.set_status(v1::SECTION_STATUS_OK);
        for (Fanout::Call* call : {&f->open_opps, &f->won_opps, &f->activities}) {
            const v1::SectionState one = state(*call);
            if (one.status() != v1::SECTION_STATUS_OK && s.status() == v1::SECTION_STATUS_OK) s = one;
            s.set_elapsed_ms(std::max(s.elapsed_ms(), one.elapsed_ms()));
        }
        if (f->open_opps.done && f->open_opps.status.ok()) {
            for (const auto& o : f->open_resp.opportunities()) *out.add_open_opportunities() = Summary(o);
        }
        if (f->won_opps.done && f->won_opps.status.ok()) {
            for (const auto& o : f->won_resp.opportunities()) *out.add_won_opportunities() = Summary(o);
        }
        if (f->activities.done && f->activities.status.ok()) {
            for (const auto& a : f->activities_resp.activities()) *out.add_recent_activities() = Summary(a);
        }
        *out.mutable_sales_section() = s;
    }
    if (!stubs_->leads) {
        *out.mutable_lead_section() = NotConfigured();
    } else {
        v1::SectionState s = state(f->lead);
        if (f->lead.done && f->lead.status.ok()) {
            if (f->lead_resp.leads().empty()) {
                s.set_status(v1::SECTION_STATUS_NOT_FOUND);
                s.set_detail("no lead was converted to this contact");
            } else {
                *out.mutable_originating_lead() = Summary(f->lead_resp.leads(0));
            }
        }
        *out.mutable_lead_section() = s;
    }
    if (!stubs_->marketing) {
        *out.mutable_marketing_section() = NotConfigured();
    } else {
        // Both calls: the record decides NOT_FOUND (the person is not in marketing's audience yet); otherwise the
        // section is OK only when both answered, and whatever answered is filled.
        v1::SectionState s = state(f->member);
        const v1::SectionState history = state(f->engagements);
        if (s.status() == v1::SECTION_STATUS_OK && history.status() != v1::SECTION_STATUS_OK) s = history;
        s.set_elapsed_ms(std::max(s.elapsed_ms(), history.elapsed_ms()));
        if (f->member.done && f->member.status.ok()) *out.mutable_marketing() = Summary(f->member_resp.member());
        if (f->engagements.done && f->engagements.status.ok()) {
            for (const auto& e : f->engagements_resp.engagements()) {
                *out.mutable_marketing()->add_recent_engagements() = Summary(e);
            }
        }
        *out.mutable_marketing_section() = s;
    }
    const v1::SectionState* states[] = {&out.contact_section(), &out.sales_section(), &out.lead_section(),
                                        &out.cases_section(), &out.marketing_section()};
    for (std::size_t i = 0; i < std::size(kSections); ++i) {
        sections_.Add({{"section", kSections[i]}, {"status", StatusLabel(states[i]->status())}}).Increment();
    }
    // The profile: each section's end from the view's start (the slowest of its calls; unfinished: now).
    const auto now = Clock::now();
    auto end_of = [&](std::initializer_list<Fanout::Call*> calls) {
        Clock::time_point end = f->start;
        for (const auto* call : calls) {
            if (call->started) end = std::max(end, call->done ? call->end : now);
        }
        return std::chrono::duration<double>(end - f->start).count();
    };
    const double section_ends[] = {end_of({&f->contact}), end_of({&f->open_opps, &f->won_opps, &f->activities}),
                                   end_of({&f->lead}), std::chrono::duration<double>(cases_end - f->start).count(),
                                   end_of({&f->member, &f->engagements})};
    const bool configured[] = {stubs_->contacts != nullptr, stubs_->sales != nullptr, stubs_->leads != nullptr, true,
                               stubs_->marketing != nullptr};
    for (std::size_t i = 0; i < std::size(kSections); ++i) {
        if (configured[i]) section_seconds_[i]->Observe(section_ends[i]);
    }
    return out;
}

}  // namespace crm::support::customer360
