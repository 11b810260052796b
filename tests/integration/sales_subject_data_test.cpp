// Data-subject requests in the sales service (issue 15): a person's opportunities (by contact and by lead), their
// activities (linked to them, or to their deals without naming someone else) and the quotes of their deals are
// exported and their free text erased, amounts, stages and statuses kept, once per request id, in their tenant only.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "../support/contacts_client.hpp"
#include "../support/sales_client.hpp"
#include "../support/subject_data.hpp"
#include "../support/wait.hpp"

using namespace crm::test;

namespace {

std::map<std::string, long> Counts(const google::protobuf::RepeatedPtrField<pv1::RecordCount>& records) {
    std::map<std::string, long> out;
    for (const auto& r : records) out[r.resource_type()] = r.count();
    return out;
}

std::vector<std::string> Ids(const nlohmann::json& records) {
    std::vector<std::string> ids;
    for (const auto& r : records) ids.push_back(r.at("id").get<std::string>());
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::vector<std::string> Sorted(std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
}

sv1::Activity MustCreateActivity(SalesClient& api, const std::string& subject, const std::string& description,
                                 const std::string& contact, const std::string& lead, const std::string& deal) {
    sv1::CreateActivityRequest req;
    auto* a = req.mutable_activity();
    a->set_type(sv1::ACTIVITY_TYPE_CALL);
    a->set_subject(subject);
    a->set_description(description);
    a->set_contact_id(contact);
    a->set_lead_id(lead);
    a->set_opportunity_id(deal);
    auto r = api.CreateActivity(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.activity();
}

sv1::Opportunity MustCreateDeal(SalesClient& api, const std::string& name, const std::string& description,
                                const std::string& contact, const std::string& lead, long long amount) {
    sv1::CreateOpportunityRequest req;
    auto* o = req.mutable_opportunity();
    o->set_name(name);
    o->set_description(description);
    o->mutable_amount()->set_amount_minor(amount);
    o->mutable_amount()->set_currency_code("EUR");
    o->set_contact_id(contact);
    o->set_lead_id(lead);
    auto r = api.CreateOpportunity(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.opportunity();
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

TEST_CASE("sales subject data: a person's deals, activities and quotes are exported and their free text erased",
          "[integration][sales][subject_data]") {
    const std::string tenant = UniqueTenant("dsr");
    const std::string other = UniqueTenant("dsr");
    const std::string uniq = crm::common::NewUuid().substr(0, 8);
    const std::string person = "Grace" + uniq;  // in every free text about the person
    const std::string token = TokenFor(tenant);
    SalesClient sales(token);
    SalesClient other_sales(TokenFor(other));
    ContactsClient contacts(token);
    SubjectDataClient officer("CRM_TEST_SALES", tenant);
    SubjectDataClient other_officer("CRM_TEST_SALES", other);

    const std::string contact = contacts.MustCreate("Grace", "Hopper" + uniq).id();
    const std::string someone_else = contacts.MustCreate("Alan", "Turing" + uniq).id();
    const std::string lead = crm::common::NewUuid();  // a lead of the person (ids of leads are stored as given)

    // The person's: a deal by contact, a deal by lead (lost), activities by contact, by lead and on their deal, a quote
    // on their deal. Not theirs: an activity on their deal about someone else, another deal, another tenant's deal
    // with the same lead id.
    const auto by_contact =
        MustCreateDeal(sales, "Compiler seats for " + person, person + " wants 50 seats", contact, "", 500000);
    const auto by_lead = MustCreateDeal(sales, "Pilot " + person, "", "", lead, 120000);
    sv1::LoseOpportunityRequest lose;
    lose.set_id(by_lead.id());
    lose.set_reason(person + " chose a competitor");
    const auto lost = sales.LoseOpportunity(lose);
    INFO(lost.status.error_message());
    REQUIRE(lost.ok());
    const auto call = MustCreateActivity(sales, "Call " + person, "about " + person + "'s team", contact, "", "");
    sv1::CompleteActivityRequest complete;
    complete.set_id(call.id());
    complete.set_outcome(person + " agreed to a demo");
    REQUIRE(sales.CompleteActivity(complete).ok());
    const auto lead_call = MustCreateActivity(sales, "Intro " + person, "", "", lead, "");
    const auto deal_prep = MustCreateActivity(sales, "Prepare the offer for " + person, "", "", "", by_contact.id());
    const auto about_other =
        MustCreateActivity(sales, "Call Alan " + uniq, "his own question", someone_else, "", by_contact.id());
    const auto unrelated = MustCreateDeal(sales, "Unrelated " + uniq, "", "", "", 7000);
    sv1::CreateQuoteRequest quote_req;
    quote_req.mutable_quote()->set_opportunity_id(by_contact.id());
    quote_req.mutable_quote()->set_title("Offer for " + person);
    auto* line = quote_req.mutable_quote()->add_line_items();
    line->set_description("Compiler seat");
    line->set_quantity("50");
    line->mutable_unit_price()->set_amount_minor(10000);
    line->mutable_unit_price()->set_currency_code("EUR");
    const auto quote = sales.CreateQuote(quote_req);
    INFO(quote.status.error_message());
    REQUIRE(quote.ok());
    const auto foreign = MustCreateDeal(other_sales, "Other tenant " + uniq, "theirs " + uniq, "", lead, 9900);

    const pv1::Subject subject = MakeSubject({contact}, {lead}, {"grace." + uniq + "@example.com"});
    pv1::ExportSubjectRequest ex;
    *ex.mutable_subject() = subject;
    pv1::ExportSubjectResponse exported;
    REQUIRE(officer.ExportSubject(ex, &exported).ok());
    CHECK(exported.service() == "sales");
    const auto deals = Records(exported, "opportunity");
    CHECK(Ids(deals) == Sorted({by_contact.id(), by_lead.id()}));
    for (const auto& d : deals) {
        if (d.at("id") == by_contact.id()) {
            CHECK(d.at("name") == "Compiler seats for " + person);
            CHECK(d.at("description") == person + " wants 50 seats");
            CHECK(d.at("contact_id") == contact);
            CHECK(d.at("amount_minor") == 500000);
            CHECK(d.at("stage_history").size() == 1);
        } else {
            CHECK(d.at("lost_reason") == person + " chose a competitor");
            CHECK(d.at("lead_id") == lead);
            CHECK(d.at("status") == "LOST");
        }
        CHECK_FALSE(d.contains("tenant_id"));
    }
    const auto activities = Records(exported, "activity");
    CHECK(Ids(activities) == Sorted({call.id(), lead_call.id(), deal_prep.id()}));
    for (const auto& a : activities) {
        if (a.at("id") == call.id()) CHECK(a.at("outcome") == person + " agreed to a demo");
    }
    const auto quotes = Records(exported, "quote");
    REQUIRE(quotes.size() == 1);
    CHECK(quotes[0].at("title") == "Offer for " + person);
    // The other tenant's officer sees only their own deal of that lead id.
    pv1::ExportSubjectResponse foreign_export;
    REQUIRE(other_officer.ExportSubject(ex, &foreign_export).ok());
    CHECK(Ids(Records(foreign_export, "opportunity")) == std::vector<std::string>{foreign.id()});
    CHECK(Records(foreign_export, "activity").empty());

    // Before the erasure the scan finds the person (so that its empty answer afterwards means something).
    CHECK_FALSE(ColumnsContaining("sales", person).empty());

    pv1::EraseSubjectRequest erase;
    erase.set_request_id("erase-" + uniq);
    *erase.mutable_subject() = subject;
    pv1::EraseSubjectResponse erased;
    const grpc::Status status = EraseWhenRelayed(officer, erase, &erased);
    INFO(status.error_message());
    REQUIRE(status.ok());
    const auto counts = Counts(erased.records());
    CHECK(counts.at("opportunity") == 2);
    CHECK(counts.at("activity") == 3);
    CHECK(counts.at("quote") == 1);

    // No free text about the person is left anywhere in sales' database (the outbox's relayed rows purged too).
    CHECK(ColumnsContaining("sales", person).empty());

    // Amounts, stages, statuses, links and times stay; the required titles carry the marker.
    sv1::GetOpportunityRequest get;
    get.set_id(by_contact.id());
    const auto kept = sales.GetOpportunity(get);
    REQUIRE(kept.ok());
    CHECK(kept.response.opportunity().name() == "(erased on request)");
    CHECK(kept.response.opportunity().description().empty());
    CHECK(kept.response.opportunity().amount().amount_minor() == 500000);
    CHECK(kept.response.opportunity().stage_id() == by_contact.stage_id());
    CHECK(kept.response.opportunity().contact_id() == contact);
    CHECK(kept.response.opportunity().version() == by_contact.version());
    get.set_id(by_lead.id());
    const auto kept_lost = sales.GetOpportunity(get);
    REQUIRE(kept_lost.ok());
    CHECK(kept_lost.response.opportunity().status() == sv1::OPPORTUNITY_STATUS_LOST);
    CHECK(kept_lost.response.opportunity().amount().amount_minor() == 120000);
    CHECK(kept_lost.response.opportunity().lost_reason().empty());
    sv1::GetActivityRequest get_activity;
    get_activity.set_id(call.id());
    const auto kept_call = sales.GetActivity(get_activity);
    REQUIRE(kept_call.ok());
    CHECK(kept_call.response.activity().subject() == "(erased on request)");
    CHECK(kept_call.response.activity().outcome().empty());
    CHECK(kept_call.response.activity().status() == sv1::ACTIVITY_STATUS_COMPLETED);
    CHECK(kept_call.response.activity().contact_id() == contact);
    sv1::GetQuoteRequest get_quote;
    get_quote.set_id(quote.response.quote().id());
    const auto kept_quote = sales.GetQuote(get_quote);
    REQUIRE(kept_quote.ok());
    CHECK(kept_quote.response.quote().total().amount_minor() == quote.response.quote().total().amount_minor());
    CHECK(kept_quote.response.quote().line_items(0).description() == "Compiler seat");
    // Not the person's: untouched.
    get_activity.set_id(about_other.id());
    CHECK(sales.GetActivity(get_activity).response.activity().subject() == "Call Alan " + uniq);
    get.set_id(unrelated.id());
    CHECK(sales.GetOpportunity(get).response.opportunity().name() == "Unrelated " + uniq);
    get.set_id(foreign.id());
    const auto kept_foreign = other_sales.GetOpportunity(get);
    REQUIRE(kept_foreign.ok());
    CHECK(kept_foreign.response.opportunity().name() == "Other tenant " + uniq);
    CHECK(kept_foreign.response.opportunity().description() == "theirs " + uniq);

    // The same request again answers the same; another request finds nothing left to change.
    pv1::EraseSubjectResponse again;
    REQUIRE(officer.EraseSubject(erase, &again).ok());
    CHECK(Counts(again.records()) == counts);
    erase.set_request_id("erase-again-" + uniq);
    pv1::EraseSubjectResponse second;
    REQUIRE(EraseWhenRelayed(officer, erase, &second).ok());
    for (const auto& [type, n] : Counts(second.records())) {
        INFO(type);
        CHECK(n == 0);
    }
    // Asked in one tenant, another tenant's records are not reached.
    get.set_id(foreign.id());
    CHECK(other_sales.GetOpportunity(get).response.opportunity().name() == "Other tenant " + uniq);
}

TEST_CASE("sales subject data: bad subjects and other roles are refused, nothing erased",
          "[integration][sales][subject_data]") {
    const std::string tenant = UniqueTenant("dsr");
    SalesClient sales(TokenFor(tenant));
    const std::string lead = crm::common::NewUuid();
    const auto deal = MustCreateDeal(sales, "Deal of a lead", "notes", "", lead, 1000);
    SubjectDataClient officer("CRM_TEST_SALES", tenant);
    pv1::EraseSubjectRequest erase;
    erase.set_request_id("bad-" + lead);
    pv1::EraseSubjectResponse resp;

    *erase.mutable_subject() = MakeSubject({}, {lead, "not-a-uuid"}, {});
    auto status = officer.EraseSubject(erase, &resp);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "subject.lead_ids[1]"));
    *erase.mutable_subject() = MakeSubject({"x"}, {}, {});
    status = officer.EraseSubject(erase, &resp);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "subject.contact_ids[0]"));
    *erase.mutable_subject() = MakeSubject({}, {lead}, {"Grace@Example.com"});
    status = officer.EraseSubject(erase, &resp);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "subject.emails[0]"));
    erase.clear_subject();
    status = officer.EraseSubject(erase, &resp);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(status, "subject"));

    SubjectDataClient rep("CRM_TEST_SALES", tenant, {"sales_rep"});
    *erase.mutable_subject() = MakeSubject({}, {lead}, {});
    CHECK(rep.EraseSubject(erase, &resp).error_code() == grpc::StatusCode::PERMISSION_DENIED);
    pv1::ExportSubjectRequest ex;
    *ex.mutable_subject() = MakeSubject({}, {lead}, {});
    pv1::ExportSubjectResponse exported;
    CHECK(rep.ExportSubject(ex, &exported).error_code() == grpc::StatusCode::PERMISSION_DENIED);

    sv1::GetOpportunityRequest get;
    get.set_id(deal.id());
    const auto kept = sales.GetOpportunity(get);
    REQUIRE(kept.ok());
    CHECK(kept.response.opportunity().name() == "Deal of a lead");
    CHECK(kept.response.opportunity().description() == "notes");
}
