// Marketing benchmarks against the running local stack (tests/bench/marketing_send.sh runs them). Not a test: it
// prints one JSON line per sample and a summary line.
//   send <people> <marketing pid>: a tenant of <people> consenting contacts (names, emails shaped like a tenant's:
//     tests/bench/names.hpp) in one static list, seeded as the database owner; one send to the list through the
//     gateway (rate 100,000/min); every second the send's counts (GetEmailSend: `sent` = accepted by the SMTP relay,
//     Mailpit in the stack) and the marketing process's VmRSS (/proc/<pid>/status) until every recipient has an
//     outcome.
//   segments <events>: 50 dynamic segments of different shapes created through the gateway, then <events> contact
//     and lead events (creations, updates of tags, titles, custom fields, consent, scores, engagements) produced to
//     crm.contacts.v1 / crm.leads.v1 at once; every second the tenant's events applied by marketing's consumer
//     (crm_processed_events: each event is recorded in the transaction that applies it and re-evaluates the person's
//     segments) until all are.
// The test support it reuses (tokens, the event producer) asserts with Catch2: this defines Catch2's implementation
// without its main().
#define CATCH_CONFIG_RUNNER
#include <crm/common/v1/event.pb.h>
#include <crm/contacts/events/v1/events.pb.h>
#include <crm/leads/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "../support/events.hpp"
#include "../support/marketing_client.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/sealed_columns.hpp"
#include "names.hpp"

using namespace crm::test;
namespace cev = crm::contacts::events::v1;
namespace lev = crm::leads::events::v1;
namespace cv1 = crm::contacts::v1;
namespace lv1 = crm::leads::v1;

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

long RssKb(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

template <class R>
R Must(R r, const char* what) {
    if (!r.ok()) {
        std::cerr << what << ": " << r.status.error_message() << "\n";
        std::exit(1);
    }
    return r;
}

int Send(long people, int pid) {
    const std::string tenant = "bench" + std::to_string(std::time(nullptr)) + "send";
    MarketingClient api(TokenFor(tenant, {"admin"}));
    mv1::CreateSegmentRequest list;
    list.mutable_segment()->set_name("Everyone");
    list.mutable_segment()->set_type(mv1::SEGMENT_TYPE_STATIC);
    const std::string segment = Must(api.CreateSegment(list), "CreateSegment").response.segment().id();

    const auto seed_start = Clock::now();
    pqxx::connection db(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
    {
        crm::bench::NameGen names;
        std::mt19937_64 rng(20261203);
        pqxx::work tx(db);
        const std::string t = tx.quote(tenant);
        for (long i = 0; i < people;) {
            std::string audience, members;
            for (long j = 0; j < 2000 && i < people; ++j, ++i) {
                const crm::bench::Person p = names.Make(rng, static_cast<std::uint64_t>(i));
                const std::string id = tx.quote(crm::common::NewUuid());
                // As written before encryption at rest (clear values), with the e-mail's blind index that sends
                // look up (the service reads clear values as they are).
                audience += std::string(audience.empty() ? "" : ",") + "(" + t + "," + id + ",'contact','" + p.email +
                            "','" + crm::common::ColumnIndex(tenant, "audience.email", p.email) + "'," +
                            tx.quote(p.given) + "," + tx.quote(p.family) + ",'opted_in',1,now())";
                members += std::string(members.empty() ? "" : ",") + "(" + t + ",'" + segment + "'," + id + ")";
            }
            tx.exec(
                "INSERT INTO audience (tenant_id, id, kind, email, email_index, given_name, family_name, consent, "
                "source_version, create_time) VALUES " +
                audience);
            tx.exec("INSERT INTO segment_members (tenant_id, segment_id, person_id) VALUES " + members);
        }
        tx.exec("UPDATE segments SET member_count = " + std::to_string(people) + " WHERE tenant_id = " + t +
                " AND id = '" + segment + "'");
        tx.commit();
        pqxx::nontransaction n(db);
        n.exec("ANALYZE audience");
        n.exec("ANALYZE segment_members");
    }
    std::cerr << "seeded " << people << " people in " << Since(seed_start) << " s\n";

    mv1::UpdateEmailSettingsRequest settings;
    settings.mutable_settings()->set_from_email("news@bench.example");
    settings.mutable_settings()->set_from_name("Bench");
    settings.mutable_settings()->set_rate_per_minute(100000);
    for (const char* p : {"from_email", "from_name", "rate_per_minute"}) settings.mutable_update_mask()->add_paths(p);
    Must(api.UpdateEmailSettings(settings), "UpdateEmailSettings");
    const mv1::Campaign campaign = api.MustCreateCampaign("Bench send");
    mv1::CreateEmailTemplateRequest tmpl;
    tmpl.mutable_template_()->set_name("Bench");
    tmpl.mutable_template_()->set_subject("News for {{contact.given_name | default:\"you\"}}");
    tmpl.mutable_template_()->set_html_body(
        "<html><body><p>Hello {{contact.given_name | default:\"there\"}} {{contact.family_name}},</p>"
        "<p><a href=\"https://example.com/spring\">See the spring offers</a></p></body></html>");
    tmpl.mutable_template_()->set_text_body(
        "Hello {{contact.given_name | default:\"there\"}}: https://example.com/spring");
    const std::string template_id =
        Must(api.CreateEmailTemplate(tmpl), "CreateEmailTemplate").response.template_().id();
    mv1::CreateEmailSendRequest send;
    send.mutable_send()->set_campaign_id(campaign.id());
    send.mutable_send()->set_template_id(template_id);
    send.mutable_send()->set_segment_id(segment);
    const long rss_before = RssKb(pid);
    const std::string send_id = Must(api.CreateEmailSend(send), "CreateEmailSend").response.send().id();
    const auto t0 = Clock::now();
    mv1::GetEmailSendRequest get;
    get.set_id(send_id);
    long peak = rss_before;
    double first_sent_at = -1;
    std::int64_t last_sent = 0;
    for (;;) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        const auto r = Must(api.GetEmailSend(get), "GetEmailSend").response.send();
        const long rss = RssKb(pid);
        peak = std::max(peak, rss);
        const double at = Since(t0);
        if (first_sent_at < 0 && r.sent() > 0) first_sent_at = at;
        std::printf(
            "{\"t_s\": %.1f, \"recipients\": %ld, \"sent\": %ld, \"bounced\": %ld, \"failed\": %ld, \"rss_kb\": %ld, "
            "\"sent_per_s\": %ld}\n",
            at, static_cast<long>(r.recipients()), static_cast<long>(r.sent()), static_cast<long>(r.bounced()),
            static_cast<long>(r.failed()), rss, static_cast<long>(r.sent() - last_sent));
        std::fflush(stdout);
        last_sent = r.sent();
        const std::int64_t done = r.sent() + r.bounced() + r.failed() + r.unconfirmed();
        if (r.recipients() > 0 && done >= r.recipients()) {
            std::printf(
                "{\"summary\": \"send\", \"people\": %ld, \"sent\": %ld, \"seconds_from_create\": %.1f, "
                "\"seconds_from_first_sent\": %.1f, \"msgs_per_s\": %.1f, \"rss_before_kb\": %ld, \"rss_peak_kb\": "
                "%ld}\n",
                people, static_cast<long>(r.sent()), at, at - first_sent_at,
                static_cast<double>(r.sent()) / std::max(1.0, at - first_sent_at + 1.0), rss_before, peak);
            return 0;
        }
        if (at > 3600) {
            std::cerr << "timeout\n";
            return 1;
        }
    }
}

// 50 rule trees of different shapes: single conditions, AND/OR of 2-4, nested groups with NOT, engagements.
std::vector<mv1::SegmentRule> FiftyRules() {
    using O = mv1::ConditionOperator;
    const std::vector<std::string> countries = {"US", "DE", "FR", "GB", "NL"};
    const std::vector<std::string> tags = {"vip", "beta", "churned", "partner", "newsletter"};
    std::vector<mv1::SegmentRule> out;
    for (int i = 0; i < 50; ++i) {
        const std::string country = countries[i % 5], tag = tags[(i / 5) % 5];
        switch (i % 10) {
            case 0:
                out.push_back(FieldRule("country", O::CONDITION_OPERATOR_EQUALS, {country}));
                break;
            case 1:
                out.push_back(FieldRule("tags", O::CONDITION_OPERATOR_EQUALS, {tag}));
                break;
            case 2:
                out.push_back(
                    FieldRule("lead_score", O::CONDITION_OPERATOR_GREATER_OR_EQUAL, {std::to_string(10 * (i % 9))}));
                break;
            case 3:
                out.push_back(Group(true, {FieldRule("country", O::CONDITION_OPERATOR_IN, {country, "US"}),
                                           FieldRule("consent", O::CONDITION_OPERATOR_EQUALS, {"opted_in"})}));
                break;
            case 4:
                out.push_back(Group(false, {FieldRule("job_title", O::CONDITION_OPERATOR_CONTAINS, {"CTO"}),
                                            FieldRule("custom.employees", O::CONDITION_OPERATOR_GREATER, {"100"}),
                                            FieldRule("tags", O::CONDITION_OPERATOR_EQUALS, {tag})}));
                break;
            case 5:
                out.push_back(Group(true, {FieldRule("kind", O::CONDITION_OPERATOR_EQUALS, {"lead"}),
                                           Not(FieldRule("lead_status", O::CONDITION_OPERATOR_EQUALS, {"unqualified"})),
                                           FieldRule("create_time", O::CONDITION_OPERATOR_WITHIN_LAST_DAYS, {"30"})}));
                break;
            case 6:
                out.push_back(Engaged(i % 20 == 6 ? "whitepaper_download" : "webinar_attended", 30));
                break;
            case 7:
                out.push_back(Group(
                    false, {Engaged("whitepaper_download", 0),
                            Group(true, {FieldRule("custom.industry", O::CONDITION_OPERATOR_IN, {"software", "retail"}),
                                         Not(FieldRule("tags", O::CONDITION_OPERATOR_EXISTS, {}))})}));
                break;
            case 8:
                out.push_back(Not(Group(false, {FieldRule("consent", O::CONDITION_OPERATOR_EQUALS, {"opted_out"}),
                                                FieldRule("country", O::CONDITION_OPERATOR_EQUALS, {country})})));
                break;
            default:
                out.push_back(Group(true, {FieldRule("family_name", O::CONDITION_OPERATOR_EQUALS, {"Smith"}),
                                           FieldRule("lead_score", O::CONDITION_OPERATOR_LESS, {"50"}),
                                           Group(false, {FieldRule("tags", O::CONDITION_OPERATOR_EQUALS, {tag}),
                                                         FieldRule("country", O::CONDITION_OPERATOR_EQUALS, {country}),
                                                         Engaged("webinar_attended", 0)})}));
        }
    }
    return out;
}

google::protobuf::Timestamp Ts(std::int64_t micros) {
    google::protobuf::Timestamp t;
    t.set_seconds(micros / 1'000'000);
    t.set_nanos(static_cast<int>(micros % 1'000'000) * 1000);
    return t;
}

int Segments(long events) {
    const std::string tenant = "bench" + std::to_string(std::time(nullptr)) + "seg";
    MarketingClient api(TokenFor(tenant, {"admin"}));
    int made = 0;
    for (const auto& rule : FiftyRules()) {
        mv1::CreateSegmentRequest req;
        req.mutable_segment()->set_name("S" + std::to_string(made++));
        req.mutable_segment()->set_type(mv1::SEGMENT_TYPE_DYNAMIC);
        *req.mutable_segment()->mutable_rule() = rule;
        Must(api.CreateSegment(req), "CreateSegment");
    }
    std::cerr << "created " << made << " dynamic segments\n";

    crm::bench::NameGen names;
    std::mt19937_64 rng(20261204);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    constexpr std::int64_t kDay = 86'400'000'000;
    std::vector<OutgoingEvent> stream;
    auto publish = [&](const std::string& topic, const std::string& type, const std::string& id, std::int64_t version,
                       const google::protobuf::Message& payload) {
        crm::common::v1::EventEnvelope env;
        env.set_event_id(crm::common::NewUuid());
        env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
        env.set_source(topic == "crm.contacts.v1" ? "contacts" : "leads");
        env.set_tenant_id(tenant);
        env.set_aggregate_type(type);
        env.set_aggregate_id(id);
        env.set_aggregate_version(version);
        *env.mutable_occurred_at() = Ts(now);
        env.mutable_payload()->PackFrom(payload);
        stream.push_back({topic, id, env.SerializeAsString(), env.event_id(), tenant});
    };
    const std::vector<std::string> countries = {"US", "DE", "FR", "GB", "NL", "ES"};
    const std::vector<std::string> tags = {"vip", "beta", "churned", "partner", "newsletter"};
    const std::vector<std::string> titles = {"CTO", "Head of IT", "Engineer", "Buyer", ""};
    const std::vector<std::string> industries = {"software", "retail", "banking", "health"};
    // A fifth of the events create people (60% contacts, 40% leads); the rest change one of them.
    std::vector<cv1::Contact> contacts;
    std::vector<lv1::Lead> leads;
    std::uint64_t serial = 0;
    while (static_cast<long>(stream.size()) < events) {
        const bool create = contacts.size() + leads.size() < 10 || pick(5) == 0;
        if (create) {
            const crm::bench::Person p = names.Make(rng, serial++);
            if (pick(5) < 3) {
                cv1::Contact c;
                c.set_id(crm::common::NewUuid());
                c.set_given_name(p.given);
                c.set_family_name(p.family);
                c.set_email(p.email);
                c.set_state(cv1::CONTACT_STATE_ACTIVE);
                c.set_version(1);
                c.mutable_email_consent()->set_status(pick(2) ? cv1::CONSENT_STATUS_OPTED_IN
                                                              : cv1::CONSENT_STATUS_UNKNOWN);
                *c.mutable_create_time() = Ts(now - pick(60) * kDay);
                cev::ContactCreated e;
                *e.mutable_contact() = c;
                publish("crm.contacts.v1", "contact", c.id(), 1, e);
                contacts.push_back(c);
            } else {
                lv1::Lead l;
                l.set_id(crm::common::NewUuid());
                l.set_given_name(p.given);
                l.set_family_name(p.family);
                l.set_email(p.email);
                l.set_country(countries[pick(6)]);
                l.set_status(lv1::LEAD_STATUS_NEW);
                l.set_version(1);
                *l.mutable_create_time() = Ts(now - pick(60) * kDay);
                lev::LeadCreated e;
                *e.mutable_lead() = l;
                publish("crm.leads.v1", "lead", l.id(), 1, e);
                leads.push_back(l);
            }
            continue;
        }
        if (leads.empty() || pick(5) < 3) {
            if (contacts.empty()) continue;
            cv1::Contact& s = contacts[pick(static_cast<int>(contacts.size()))];
            s.set_version(s.version() + 1);
            const int change = pick(4);
            if (change == 0) {
                s.clear_tags();
                for (const auto& t : tags) {
                    if (pick(3) == 0) s.add_tags(t);
                }
            } else if (change == 1) {
                (*s.mutable_custom_fields())["industry"] = industries[pick(4)];
                (*s.mutable_custom_fields())["employees"] = std::to_string(pick(500));
            } else if (change == 2) {
                s.set_job_title(titles[pick(5)]);
            } else {
                const auto previous = s.email_consent().status();
                s.mutable_email_consent()->set_status(pick(4) ? cv1::CONSENT_STATUS_OPTED_IN
                                                              : cv1::CONSENT_STATUS_OPTED_OUT);
                cev::ContactConsentChanged e;
                *e.mutable_contact() = s;
                e.set_previous_status(previous);
                publish("crm.contacts.v1", "contact", s.id(), s.version(), e);
                continue;
            }
            cev::ContactUpdated e;
            *e.mutable_contact() = s;
            publish("crm.contacts.v1", "contact", s.id(), s.version(), e);
        } else {
            lv1::Lead& l = leads[pick(static_cast<int>(leads.size()))];
            l.set_version(l.version() + 1);
            if (pick(2)) {
                const int previous = l.score();
                l.set_score(pick(101));
                lev::LeadScored e;
                *e.mutable_lead() = l;
                e.set_previous_score(previous);
                e.set_score(l.score());
                publish("crm.leads.v1", "lead", l.id(), l.version(), e);
            } else {
                lev::LeadEngagementRecorded e;
                *e.mutable_lead() = l;
                e.mutable_engagement()->set_id(crm::common::NewUuid());
                e.mutable_engagement()->set_type(pick(2) ? "whitepaper_download" : "webinar_attended");
                *e.mutable_engagement()->mutable_occur_time() = Ts(now - pick(40) * kDay);
                publish("crm.leads.v1", "lead", l.id(), l.version(), e);
            }
        }
    }
    pqxx::connection db(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
    auto applied = [&] {
        pqxx::work tx(db);
        return tx.exec1("SELECT count(*) FROM crm_processed_events WHERE tenant_id = " + tx.quote(tenant))[0]
            .as<long>();
    };
    const auto t0 = Clock::now();
    ProduceEvents(stream);
    std::cerr << "produced " << stream.size() << " events in " << Since(t0) << " s (" << contacts.size()
              << " contacts, " << leads.size() << " leads)\n";
    long last = 0;
    double first_at = -1;
    long first_count = 0;
    for (;;) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        const long n = applied();
        const double at = Since(t0);
        if (first_at < 0 && n > 0) {
            first_at = at;
            first_count = n;
        }
        std::printf("{\"t_s\": %.1f, \"applied\": %ld, \"applied_per_s\": %ld}\n", at, n, n - last);
        std::fflush(stdout);
        last = n;
        if (n >= static_cast<long>(stream.size())) {
            long members = 0;
            {
                pqxx::work tx(db);
                members = tx.exec1("SELECT count(*) FROM segment_members WHERE tenant_id = " + tx.quote(tenant))[0]
                              .as<long>();
            }
            std::printf(
                "{\"summary\": \"segments\", \"segments\": 50, \"events\": %ld, \"seconds_from_produce\": %.1f, "
                "\"events_per_s\": %.1f, \"events_per_s_after_first\": %.1f, \"memberships\": %ld}\n",
                n, at, static_cast<double>(n) / at, static_cast<double>(n - first_count) / std::max(1.0, at - first_at),
                members);
            return 0;
        }
        if (at > 3600) {
            std::cerr << "timeout\n";
            return 1;
        }
    }
}

}  // namespace

// The benchmark runs as the one Catch2 test case of this program: the test support it calls asserts with Catch2,
// which needs a running session.
std::vector<std::string> g_args;
int g_result = 2;

TEST_CASE("marketing bench") {
    if (g_args.size() == 3 && g_args[0] == "send") g_result = Send(std::stol(g_args[1]), std::stoi(g_args[2]));
    if (g_args.size() == 2 && g_args[0] == "segments") g_result = Segments(std::stol(g_args[1]));
}

int main(int argc, char** argv) {
    g_args.assign(argv + 1, argv + argc);
    if (!((g_args.size() == 3 && g_args[0] == "send") || (g_args.size() == 2 && g_args[0] == "segments"))) {
        std::cerr << "usage: crm-marketing-bench send <people> <marketing pid> | segments <events>\n";
        return 2;
    }
    Catch::Session session;
    const char* self[] = {argv[0]};
    if (session.applyCommandLine(1, self) != 0) return 2;
    const int failed = session.run();
    return failed != 0 ? 1 : g_result;
}
