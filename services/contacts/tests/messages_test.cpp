// The areas' pure helpers over crm.contacts.v1 messages (what tests/mapping_test.cpp checked of the mapping layer
// before the areas worked on the messages themselves): times, derived fields, the fields handed to the rules,
// duplicate matches, merge inputs and the GDPR export document.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "custom_fields/custom_fields.hpp"
#include "duplicates/duplicates.hpp"
#include "people/people.hpp"
#include "privacy/privacy.hpp"
#include "rows.hpp"

using namespace crm::contacts;
namespace v1 = crm::contacts::v1;

namespace {

google::protobuf::Timestamp At(long long micros) { return rows::ToTimestamp(micros); }

// A contact as people::ReadContact reads it from its row.
v1::Contact SampleContact() {
    v1::Contact c;
    c.set_id("7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01");
    c.set_given_name("Ada");
    c.set_family_name("Lovelace");
    c.set_email("ada@example.com");
    c.set_phone("+442079460958");
    c.add_tags("vip");
    c.add_tags("b2b");
    (*c.mutable_custom_fields())["size"] = "12";
    c.mutable_email_consent()->set_status(v1::CONSENT_STATUS_OPTED_IN);
    *c.mutable_email_consent()->mutable_change_time() = At(1700000000123456);
    c.mutable_email_consent()->set_source("form");
    c.set_state(v1::CONTACT_STATE_ACTIVE);
    *c.mutable_create_time() = At(1600000000000001);
    *c.mutable_update_time() = At(1700000000123456);
    *c.mutable_delete_time() = At(1700000001000000);
    c.set_version(7);
    return people::WithDerivedFields(std::move(c));
}

}  // namespace

TEST_CASE("timestamps keep microseconds both ways, also before 1970", "[messages]") {
    for (long long micros : {0LL, 1LL, 1700000000123456LL, -1LL, -62135596800000000LL}) {
        INFO(micros);
        const google::protobuf::Timestamp ts = rows::ToTimestamp(micros);
        CHECK(ts.nanos() >= 0);
        CHECK(rows::Micros(ts) == micros);
        CHECK(rows::ToDomainTime(ts) == domain::Timestamp(std::chrono::microseconds(micros)));
    }
}

TEST_CASE("contacts get their derived fields", "[messages]") {
    const v1::Contact proto = SampleContact();
    CHECK(proto.display_name() == "Ada Lovelace");
    CHECK(proto.etag() == "v7");
    CHECK(proto.version() == 7);
    CHECK(proto.email_consent().status() == v1::CONSENT_STATUS_OPTED_IN);
    CHECK(proto.email_consent().change_time().nanos() == 123456000);

    v1::Contact unknown = SampleContact();
    unknown.mutable_email_consent()->set_status(v1::CONSENT_STATUS_UNSPECIFIED);
    unknown = people::WithDerivedFields(std::move(unknown));
    CHECK_FALSE(unknown.email_consent().has_change_time());
    CHECK(unknown.email_consent().status() == v1::CONSENT_STATUS_UNKNOWN);

    v1::Contact email_only = SampleContact();
    email_only.clear_given_name();
    email_only.clear_family_name();
    CHECK(people::WithDerivedFields(email_only).display_name() == "ada@example.com");
}

TEST_CASE("consent statuses as the schema spells them", "[messages]") {
    for (v1::ConsentStatus status :
         {v1::CONSENT_STATUS_UNKNOWN, v1::CONSENT_STATUS_OPTED_IN, v1::CONSENT_STATUS_OPTED_OUT}) {
        CHECK(people::ConsentStatusFromText(people::ConsentStatusText(status)) == status);
    }
    CHECK(people::ConsentStatusText(v1::CONSENT_STATUS_OPTED_OUT) == "OPTED_OUT");
    CHECK(people::ConsentStatusFromText("garbage") == v1::CONSENT_STATUS_UNKNOWN);
}

TEST_CASE("request messages give the writable fields only", "[messages]") {
    v1::Contact proto = SampleContact();
    proto.set_job_title("Analyst");
    proto.set_merged_into_id("0f4d2b8e-2b7e-4d27-9a0c-51b6bd9a7e11");
    domain::ContactFields expected;
    expected.given_name = "Ada";
    expected.family_name = "Lovelace";
    expected.email = "ada@example.com";
    expected.phone = "+442079460958";
    expected.job_title = "Analyst";
    expected.tags = {"vip", "b2b"};
    expected.custom_fields = {{"size", "12"}};
    CHECK(people::FieldsOf(proto) == expected);

    v1::CustomFieldDefinition def;
    def.set_id("0f4d2b8e-2b7e-4d27-9a0c-51b6bd9a7e11");
    def.set_entity(v1::CUSTOM_FIELD_ENTITY_COMPANY);
    def.set_type(v1::CUSTOM_FIELD_TYPE_SINGLE_SELECT);
    def.set_key("tier");
    def.add_allowed_values("gold");
    const domain::CustomFieldDefinition d = custom_fields::RuleOf(def);
    CHECK(d.entity == domain::CustomFieldEntity::kCompany);
    CHECK(d.type == domain::CustomFieldType::kSingleSelect);
    CHECK(d.allowed_values == std::vector<std::string>{"gold"});
    def.set_type(static_cast<v1::CustomFieldType>(99));
    CHECK(custom_fields::RuleOf(def).type == domain::CustomFieldType::kUnspecified);
}

TEST_CASE("duplicate matches carry score and reasons", "[messages]") {
    const v1::DuplicateMatch proto = duplicates::MatchOf(
        SampleContact(),
        {.score = 0.96, .reasons = {domain::DuplicateReason::kPhoneExact, domain::DuplicateReason::kNameSimilar}});
    CHECK(proto.contact().id() == SampleContact().id());
    CHECK(proto.score() == Approx(0.96));
    REQUIRE(proto.reasons_size() == 2);
    CHECK(proto.reasons(0) == v1::DUPLICATE_REASON_PHONE_EXACT);
    CHECK(proto.reasons(1) == v1::DUPLICATE_REASON_NAME_SIMILAR);
}

TEST_CASE("merge inputs carry the consent both ways", "[messages]") {
    const domain::MergeInput input = duplicates::MergeInputOf(SampleContact());
    CHECK(input.fields == people::FieldsOf(SampleContact()));
    CHECK(input.consent.status == domain::ConsentStatus::kOptedIn);
    CHECK(input.consent.change_time == domain::Timestamp(std::chrono::microseconds(1700000000123456)));
    CHECK(input.consent.source == "form");
    const v1::EmailConsent back = duplicates::ConsentOf(input.consent);
    CHECK(back.status() == v1::CONSENT_STATUS_OPTED_IN);
    CHECK(rows::Micros(back.change_time()) == 1700000000123456);
    CHECK(back.source() == "form");
    CHECK_FALSE(duplicates::ConsentOf(domain::EmailConsent{}).has_change_time());
    CHECK(duplicates::ConsentOf(domain::EmailConsent{}).status() == v1::CONSENT_STATUS_UNKNOWN);
}

TEST_CASE("the export document holds everything on the person", "[messages]") {
    privacy::ContactExport data;
    data.contact = SampleContact();
    v1::Contact merged = SampleContact();
    merged.set_id("0f4d2b8e-2b7e-4d27-9a0c-51b6bd9a7e11");
    merged.set_email("ada.king@example.com");
    merged.set_state(v1::CONTACT_STATE_MERGED);
    merged.set_merged_into_id(data.contact.id());
    data.merged_contacts = {merged};
    data.consent_history = {{.contact_id = data.contact.id(),
                             .status = v1::CONSENT_STATUS_OPTED_IN,
                             .source = "form",
                             .change_time = At(1700000000123456)}};
    data.export_time = At(1800000000000000);

    const nlohmann::json doc = nlohmann::json::parse(privacy::ExportToJson(data));
    CHECK(doc["contact"]["email"] == "ada@example.com");
    CHECK(doc["contact"]["custom_fields"]["size"] == "12");
    CHECK(doc["company"].is_null());
    REQUIRE(doc["merged_contacts"].size() == 1);
    CHECK(doc["merged_contacts"][0]["email"] == "ada.king@example.com");
    CHECK(doc["merged_contacts"][0]["state"] == "CONTACT_STATE_MERGED");
    REQUIRE(doc["consent_history"].size() == 1);
    CHECK(doc["consent_history"][0]["status"] == "CONSENT_STATUS_OPTED_IN");
    CHECK(doc["consent_history"][0]["change_time"] == "2023-11-14T22:13:20.123456Z");
    CHECK(doc["export_time"] == "2027-01-15T08:00:00Z");

    v1::Company company;
    company.set_id("3c4d2b8e-2b7e-4d27-9a0c-51b6bd9a7e11");
    company.set_name("Analytical Engines");
    company.set_industry("Computing");
    data.company = company;
    const nlohmann::json with_company = nlohmann::json::parse(privacy::ExportToJson(data));
    CHECK(with_company["company"] == nlohmann::json({{"id", company.id()}, {"name", "Analytical Engines"}}));
}
