// Event payloads -> facts, without I/O: what each contacts, leads and sales event contributes, and that payloads which
// cannot be interpreted are rejected (the consumer then dead-letters them) while unknown event types are ignored.
#include "projection/projector.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/contacts/events/v1/events.pb.h>
#include <crm/leads/events/v1/events.pb.h>
#include <crm/sales/events/v1/events.pb.h>

#include <catch2/catch.hpp>

#include "domain/kpis.hpp"
#include "projection/proto_time.hpp"

using namespace crm::analytics;
namespace ce = crm::contacts::events::v1;

namespace {

const std::string kContactId = "6F1C2A64-8A8E-4C1B-9E0C-3C6E5B7A9D10";  // upper case: stored lower case
const std::string kEventId = "0d6c1c0e-5f33-4b8c-9b7e-2a8f0f4b1e11";

crm::common::v1::EventEnvelope Envelope(const google::protobuf::Message& payload, int64_t version = 1) {
    crm::common::v1::EventEnvelope env;
    env.set_event_id(kEventId);
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("contacts");
    env.set_tenant_id("acme");
    env.set_aggregate_type("contact");
    env.set_aggregate_id(kContactId);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = projection::ToTimestamp(1'700'000'100'000'000);
    env.mutable_payload()->PackFrom(payload);
    return env;
}

}  // namespace

TEST_CASE("projector: ContactCreated gives a contact with its creation time", "[analytics][projector]") {
    ce::ContactCreated e;
    e.mutable_contact()->set_id(kContactId);
    *e.mutable_contact()->mutable_create_time() = projection::ToTimestamp(1'700'000'000'123'456);
    const domain::Facts f = projection::Project(Envelope(e));
    REQUIRE(f.records.size() == 1);
    const domain::RecordVersion& r = f.records[0];
    CHECK(r.kind == domain::RecordKind::kContact);
    CHECK(r.record_id == "6f1c2a64-8a8e-4c1b-9e0c-3c6e5b7a9d10");
    CHECK(r.version == 1);
    CHECK(r.event_id == kEventId);
    CHECK(r.occurred_at == 1'700'000'100'000'000);
    CHECK(r.created_at == 1'700'000'000'123'456);
    CHECK_FALSE(r.deleted_at);
    CHECK(f.leads.empty());
    CHECK(f.opportunities.empty());
}

TEST_CASE("projector: CompanyCreated and CompanyDeleted", "[analytics][projector]") {
    ce::CompanyCreated created;
    created.mutable_company()->set_id(kContactId);
    const domain::Facts c = projection::Project(Envelope(created));
    REQUIRE(c.records.size() == 1);
    CHECK(c.records[0].kind == domain::RecordKind::kCompany);
    CHECK(c.records[0].created_at == 1'700'000'100'000'000);  // no create_time: the event's time

    ce::CompanyDeleted deleted;
    deleted.mutable_company()->set_id(kContactId);
    *deleted.mutable_company()->mutable_delete_time() = projection::ToTimestamp(1'700'000'200'000'000);
    const domain::Facts d = projection::Project(Envelope(deleted, 3));
    REQUIRE(d.records.size() == 1);
    CHECK(d.records[0].version == 3);
    CHECK(d.records[0].deleted_at == 1'700'000'200'000'000);
    CHECK_FALSE(d.records[0].created_at);
}

TEST_CASE("projector: events no read model needs contribute nothing", "[analytics][projector]") {
    ce::ContactUpdated updated;
    updated.mutable_contact()->set_id(kContactId);
    CHECK(projection::Project(Envelope(updated, 2)).empty());
    auto env = Envelope(updated);
    env.set_event_type("crm.marketing.events.v1.CampaignLaunched");
    CHECK(projection::Project(env).empty());
}

TEST_CASE("projector: an unreadable payload or a missing id is rejected", "[analytics][projector]") {
    ce::ContactCreated e;
    e.mutable_contact()->set_id(kContactId);
    auto garbage = Envelope(e);
    garbage.mutable_payload()->set_value(std::string("\xff\xff\xff\xff", 4));
    CHECK_THROWS_AS(projection::Project(garbage), projection::UninterpretableEvent);

    auto wrong_type = Envelope(e);
    wrong_type.set_event_type("crm.contacts.events.v1.CompanyCreated");  // payload is a ContactCreated
    CHECK_THROWS_AS(projection::Project(wrong_type), projection::UninterpretableEvent);

    ce::ContactCreated no_id;
    CHECK_THROWS_AS(projection::Project(Envelope(no_id)), projection::UninterpretableEvent);

    auto no_time = Envelope(e);
    no_time.clear_occurred_at();
    CHECK_THROWS_AS(projection::Project(no_time), projection::UninterpretableEvent);

    CHECK_THROWS_AS(projection::Project(Envelope(e, 0)), projection::UninterpretableEvent);
}

TEST_CASE("projector: lead events give the lead's state from its snapshot", "[analytics][projector]") {
    crm::leads::v1::Lead lead;
    lead.set_id(kContactId);
    lead.set_source("web");
    lead.set_campaign_id("c1");
    lead.set_owner_id("u1");
    lead.set_status(crm::leads::v1::LEAD_STATUS_WORKING);
    *lead.mutable_create_time() = projection::ToTimestamp(1'000'000);
    *lead.mutable_first_touch_deadline() = projection::ToTimestamp(5'000'000);
    *lead.mutable_first_touch_time() = projection::ToTimestamp(3'000'000);
    crm::leads::events::v1::LeadStatusChanged changed;
    *changed.mutable_lead() = lead;
    const domain::Facts f = projection::Project(Envelope(changed, 2));
    REQUIRE(f.leads.size() == 1);
    const domain::LeadVersion& v = f.leads[0];
    CHECK(v.lead_id == "6f1c2a64-8a8e-4c1b-9e0c-3c6e5b7a9d10");
    CHECK(v.version == 2);
    CHECK(v.source == "web");
    CHECK(v.campaign_id == "c1");
    CHECK(v.status == domain::LeadStatus::kOpen);
    CHECK(v.created_at == 1'000'000);
    CHECK(v.first_response_at == 3'000'000);
    CHECK(v.response_due_at == 5'000'000);
    CHECK_FALSE(v.converted_at);

    crm::leads::events::v1::LeadConverted converted;
    *converted.mutable_lead() = lead;
    *converted.mutable_convert_time() = projection::ToTimestamp(9'000'000);
    const domain::Facts c = projection::Project(Envelope(converted, 3));
    REQUIRE(c.leads.size() == 1);
    CHECK(c.leads[0].status == domain::LeadStatus::kConverted);
    CHECK(c.leads[0].converted_at == 9'000'000);

    lead.set_status(crm::leads::v1::LEAD_STATUS_UNQUALIFIED);
    *changed.mutable_lead() = lead;
    CHECK(projection::Project(Envelope(changed, 4)).leads[0].status == domain::LeadStatus::kDisqualified);
    CHECK(projection::Project(Envelope(crm::leads::events::v1::ScoringModelTrained())).empty());
}

TEST_CASE("projector: opportunity events give the deal's state, probability in basis points",
          "[analytics][projector]") {
    crm::sales::v1::Opportunity o;
    o.set_id(kContactId);
    o.set_pipeline_id("p1");
    o.set_stage_id("s2");
    o.set_stage_name("Propose");
    o.set_probability(35);
    o.mutable_amount()->set_amount_minor(123456);
    o.mutable_amount()->set_currency_code("EUR");
    o.set_expected_close_date("2026-03-12");
    o.set_owner_id("u1");
    o.set_lead_id("lead-1");
    o.set_source_campaign_id("c9");
    o.set_status(crm::sales::v1::OPPORTUNITY_STATUS_OPEN);
    *o.mutable_create_time() = projection::ToTimestamp(2'000'000);
    crm::sales::events::v1::OpportunityStageChanged moved;
    *moved.mutable_opportunity() = o;
    const domain::Facts f = projection::Project(Envelope(moved, 2));
    REQUIRE(f.opportunities.size() == 1);
    const domain::OpportunityVersion& v = f.opportunities[0];
    CHECK(v.pipeline_id == "p1");
    CHECK(v.stage_id == "s2");
    CHECK(v.stage_name == "Propose");
    CHECK(v.probability_bp == 3500);
    CHECK(v.status == domain::DealStatus::kOpen);
    CHECK(v.amount_minor == 123456);
    CHECK(v.currency_code == "EUR");
    CHECK(v.expected_close_at == (20514 + 10) * domain::kMicrosPerDay);  // 2026-03-12 00:00 UTC
    CHECK(v.created_at == 2'000'000);
    CHECK(v.lead_id == "lead-1");
    CHECK(v.campaign_id == "c9");
    CHECK_FALSE(v.closed_at);

    crm::sales::events::v1::OpportunityWon won;
    *won.mutable_opportunity() = o;
    *won.mutable_close_time() = projection::ToTimestamp(8'000'000);
    const domain::Facts w = projection::Project(Envelope(won, 3));
    CHECK(w.opportunities[0].status == domain::DealStatus::kWon);
    CHECK(w.opportunities[0].closed_at == 8'000'000);

    crm::sales::events::v1::OpportunityDeleted deleted;
    *deleted.mutable_opportunity() = o;
    CHECK(projection::Project(Envelope(deleted, 4)).opportunities[0].deleted_at == 1'700'000'100'000'000);

    o.mutable_amount()->set_currency_code("eur");
    *moved.mutable_opportunity() = o;
    CHECK_THROWS_AS(projection::Project(Envelope(moved, 5)), projection::UninterpretableEvent);
    o.mutable_amount()->set_currency_code("EUR");
    o.set_expected_close_date("12/03/2026");
    *moved.mutable_opportunity() = o;
    CHECK_FALSE(projection::Project(Envelope(moved, 5)).opportunities[0].expected_close_at);
    CHECK(projection::Project(Envelope(crm::sales::events::v1::PipelineCreated())).empty());
}
