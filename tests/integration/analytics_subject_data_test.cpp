// Data-subject requests in analytics (issue 15): the read models' facts keyed by a person's ids (their contact's
// lifecycle, their lead, the deal converted from it) are exported; an erasure across leads, sales and analytics changes
// no fact and no KPI, and no personal value of the person was ever in analytics' tables.
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "../support/analytics_client.hpp"
#include "../support/leads_client.hpp"
#include "../support/subject_data.hpp"
#include "../support/wait.hpp"

using namespace crm::test;
namespace av1 = crm::analytics::v1;
namespace sv1 = crm::sales::v1;
using google::protobuf::util::TimeUtil;

namespace {

std::map<std::string, long> Counts(const pv1::ExportSubjectResponse& resp) {
    std::map<std::string, long> out;
    for (const auto& r : resp.records()) out[r.resource_type()] = r.count();
    return out;
}

grpc::Status EraseWhenRelayed(SubjectDataClient& client, const pv1::EraseSubjectRequest& req,
                              pv1::EraseSubjectResponse* resp) {
    grpc::Status status;
    Eventually([&] {
        resp->Clear();
        status = client.EraseSubject(req, resp);
        return status.error_code() != grpc::StatusCode::UNAVAILABLE;
    });
    return status;
}

}  // namespace

TEST_CASE("analytics subject data: a person's facts are exported, and erasing them everywhere keeps every KPI",
          "[integration][analytics][subject_data]") {
    const std::string tenant = UniqueTenant("dsr");
    const std::string other = UniqueTenant("dsr");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string family = "Noether" + uniq;
    const std::string email = "emmy." + uniq + "@example.com";
    const std::string token = TokenFor(tenant);
    LeadsClient leads(token);
    AnalyticsClient analytics(token);
    const auto start = TimeUtil::GetCurrentTime();

    // The person: a lead, qualified and converted with a deal, which is won.
    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_given_name("Emmy");
    create.mutable_lead()->set_family_name(family);
    create.mutable_lead()->set_email(email);
    create.mutable_lead()->set_source("seminar");
    create.mutable_lead()->set_notes("algebra " + uniq);
    const auto created = leads.CreateLead(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const std::string lead = created.response.lead().id();
    leads.MustMove(lead, {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_QUALIFIED});
    lv1::ConvertLeadRequest convert;
    convert.set_id(lead);
    convert.set_create_opportunity(true);
    convert.set_skip_company(true);
    convert.mutable_opportunity()->set_name("Rings for " + family);
    convert.mutable_opportunity()->mutable_amount()->set_amount_minor(250000);
    convert.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    const auto converted = leads.ConvertLead(convert);
    INFO(converted.status.error_message());
    REQUIRE(converted.ok());
    const std::string contact = converted.response.conversion().contact_id();
    const std::string deal = converted.response.conversion().opportunity_id();
    REQUIRE_FALSE(deal.empty());
    auto sales = sv1::SalesService::NewStub(GatewayChannel());
    sv1::WinOpportunityRequest win;
    win.set_id(deal);
    sv1::WinOpportunityResponse won;
    grpc::ClientContext win_ctx;
    Prepare(win_ctx, token);
    REQUIRE(sales->WinOpportunity(&win_ctx, win, &won).ok());

    // The KPIs once analytics has every fact of the scenario, as of a fixed time.
    av1::GetKpisRequest kpis;
    *kpis.mutable_start_time() = TimeUtil::SecondsToTimestamp(start.seconds() - 86400);
    *kpis.mutable_end_time() = TimeUtil::SecondsToTimestamp(start.seconds() + 86400);
    av1::GetKpisResponse before;
    REQUIRE(Eventually([&] {
        before.Clear();
        return analytics.Kpis(kpis, &before).ok() && before.lead_conversion_total().numerator() == 1 &&
               before.new_contacts() == 1 && before.win_rate().numerator() == 1;
    }));
    *kpis.mutable_as_of_time() = TimeUtil::GetCurrentTime();
    REQUIRE(analytics.Kpis(kpis, &before).ok());

    SubjectDataClient officer("CRM_TEST_ANALYTICS", tenant);
    const pv1::Subject subject = MakeSubject({contact}, {lead}, {email});
    pv1::ExportSubjectRequest ex;
    *ex.mutable_subject() = subject;
    pv1::ExportSubjectResponse exported;
    REQUIRE(officer.ExportSubject(ex, &exported).ok());
    CHECK(exported.service() == "analytics");
    const auto contact_facts = Records(exported, "contact_fact");
    REQUIRE(contact_facts.size() >= 1);
    CHECK(contact_facts[0].at("record_id") == contact);
    CHECK(contact_facts[0].at("kind") == "contact");
    const auto lead_facts = Records(exported, "lead_fact");
    REQUIRE(lead_facts.size() >= 2);  // created, status changes, converted
    for (const auto& f : lead_facts) CHECK(f.at("lead_id") == lead);
    const auto deal_facts = Records(exported, "opportunity_fact");
    REQUIRE(deal_facts.size() >= 2);  // created, won
    bool stated_amount = false;
    for (const auto& f : deal_facts) {
        CHECK(f.at("opportunity_id") == deal);
        stated_amount = stated_amount || f.value("amount_minor", nlohmann::json()) == 250000;
    }
    CHECK(stated_amount);
    CHECK_FALSE(contact_facts[0].contains("tenant_id"));
    // Another tenant's officer finds nothing of this tenant's person.
    SubjectDataClient other_officer("CRM_TEST_ANALYTICS", other);
    pv1::ExportSubjectResponse foreign;
    REQUIRE(other_officer.ExportSubject(ex, &foreign).ok());
    for (const auto& [type, n] : Counts(foreign)) {
        INFO(type);
        CHECK(n == 0);
    }

    // The erasure as the gateway runs it: every service with the person's data.
    pv1::EraseSubjectRequest erase;
    erase.set_request_id("erase-" + uniq);
    *erase.mutable_subject() = subject;
    for (const char* service : {"CRM_TEST_LEADS", "CRM_TEST_SALES", "CRM_TEST_ANALYTICS"}) {
        SubjectDataClient client(service, tenant);
        pv1::EraseSubjectResponse erased;
        const grpc::Status status = EraseWhenRelayed(client, erase, &erased);
        INFO(service << ": " << status.error_message());
        REQUIRE(status.ok());
        if (erased.service() == "analytics") {
            // Nothing personal in the facts: nothing changed.
            REQUIRE(erased.records_size() == 5);
            for (const auto& r : erased.records()) CHECK(r.count() == 0);
        } else {
            CHECK(erased.records_size() > 0);
        }
    }

    // Every fact and every KPI as before; no personal value of the person in analytics' tables.
    pv1::ExportSubjectResponse after_export;
    REQUIRE(officer.ExportSubject(ex, &after_export).ok());
    // (Marketing's reaction to the won deal, an attribution, may still arrive: the leads and sales facts are compared.)
    for (const char* type : {"contact_fact", "lead_fact", "opportunity_fact"}) {
        INFO(type);
        CHECK(Counts(after_export).at(type) == Counts(exported).at(type));
    }
    av1::GetKpisResponse after;
    REQUIRE(analytics.Kpis(kpis, &after).ok());
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    CHECK(differ.Compare(before, after));
    INFO(diff);
    CHECK(diff.empty());
    for (const std::string& needle : {family, email, "algebra " + uniq}) {
        INFO(needle);
        CHECK(ColumnsContaining("analytics", needle).empty());
    }

    // A repeated request answers the same; bad subjects and other roles are refused.
    pv1::EraseSubjectResponse again;
    REQUIRE(officer.EraseSubject(erase, &again).ok());
    CHECK(again.records_size() == 5);
    *ex.mutable_subject() = MakeSubject({contact, "nope"}, {}, {});
    pv1::ExportSubjectResponse refused;
    const auto bad = officer.ExportSubject(ex, &refused);
    CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(bad, "subject.contact_ids[1]"));
    *ex.mutable_subject() = MakeSubject({}, {}, {"Emmy@Example.com"});
    CHECK(HasViolation(officer.ExportSubject(ex, &refused), "subject.emails[0]"));
    ex.clear_subject();
    CHECK(HasViolation(officer.ExportSubject(ex, &refused), "subject"));
    SubjectDataClient rep("CRM_TEST_ANALYTICS", tenant, {"sales_rep"});
    *ex.mutable_subject() = subject;
    CHECK(rep.ExportSubject(ex, &refused).error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(rep.EraseSubject(erase, &again).error_code() == grpc::StatusCode::PERMISSION_DENIED);
}
