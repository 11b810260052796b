#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "mapping/proto_mapping.hpp"

using namespace crm::contacts;
namespace v1 = crm::contacts::v1;

namespace {

domain::Timestamp At(long long micros) { return domain::Timestamp(std::chrono::microseconds(micros)); }

domain::Contact SampleContact() {
    domain::Contact c;
    c.id = "7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01";
    c.fields.given_name = "Ada";
    c.fields.family_name = "Lovelace";
    c.fields.email = "ada@example.com";
    c.fields.phone = "+442079460958";
    c.fields.tags = {"vip", "b2b"};
    c.fields.custom_fields = {{"size", "12"}};
    c.consent = {.status = domain::ConsentStatus::kOptedIn, .change_time = At(1700000000123456), .source = "form"};
    c.create_time = At(1600000000000001);
    c.update_time = At(1700000000123456);
    c.delete_time = At(1700000001000000);
    c.version = 7;
    return c;
}

}  // namespace

TEST_CASE("timestamps keep microseconds both ways, also before 1970", "[mapping]") {
    for (long long micros : {0LL, 1LL, 1700000000123456LL, -1LL, -62135596800000000LL}) {
        INFO(micros);
        const google::protobuf::Timestamp ts = mapping::ToProto(At(micros));
        CHECK(ts.nanos() >= 0);
        CHECK(mapping::FromProto(ts) == At(micros));
    }
}

TEST_CASE("contacts map to proto with derived and output-only fields", "[mapping]") {
    const v1::Contact proto = mapping::ToProto(SampleContact());
    CHECK(proto.display_name() == "Ada Lovelace");
    CHECK(proto.etag() == "v7");
    CHECK(proto.version() == 7);
    CHECK(proto.state() == v1::CONTACT_STATE_ACTIVE);
    CHECK(proto.email_consent().status() == v1::CONSENT_STATUS_OPTED_IN);
    CHECK(proto.email_consent().change_time().nanos() == 123456000);
    CHECK(proto.has_delete_time());
    CHECK_FALSE(proto.has_erase_time());
    CHECK(proto.tags_size() == 2);
    CHECK(proto.custom_fields().at("size") == "12");

    domain::Contact unknown = SampleContact();
    unknown.consent = {};
    CHECK_FALSE(mapping::ToProto(unknown).email_consent().has_change_time());
    CHECK(mapping::ToProto(unknown).email_consent().status() == v1::CONSENT_STATUS_UNKNOWN);
}

TEST_CASE("request messages give the writable fields only", "[mapping]") {
    v1::Contact proto = mapping::ToProto(SampleContact());
    proto.set_job_title("Analyst");
    const domain::ContactFields fields = mapping::ContactFieldsFromProto(proto);
    domain::ContactFields expected = SampleContact().fields;
    expected.job_title = "Analyst";
    CHECK(fields == expected);

    v1::CustomFieldDefinition def;
    def.set_entity(v1::CUSTOM_FIELD_ENTITY_COMPANY);
    def.set_type(v1::CUSTOM_FIELD_TYPE_SINGLE_SELECT);
    def.set_key("tier");
    def.add_allowed_values("gold");
    const domain::CustomFieldDefinition d = mapping::DefinitionFromProto(def);
    CHECK(d.entity == domain::CustomFieldEntity::kCompany);
    CHECK(d.type == domain::CustomFieldType::kSingleSelect);
    CHECK(mapping::ToProto(d).allowed_values(0) == "gold");
    CHECK(mapping::FromProto(static_cast<v1::CustomFieldType>(99)) == domain::CustomFieldType::kUnspecified);
}

TEST_CASE("duplicate matches carry score and reasons", "[mapping]") {
    const domain::DuplicateMatch match{
        .contact = SampleContact(),
        .score = {.score = 0.96,
                  .reasons = {domain::DuplicateReason::kPhoneExact, domain::DuplicateReason::kNameSimilar}}};
    const v1::DuplicateMatch proto = mapping::ToProto(match);
    CHECK(proto.score() == Approx(0.96));
    REQUIRE(proto.reasons_size() == 2);
    CHECK(proto.reasons(0) == v1::DUPLICATE_REASON_PHONE_EXACT);
    CHECK(proto.reasons(1) == v1::DUPLICATE_REASON_NAME_SIMILAR);
}

TEST_CASE("the export document holds everything on the person", "[mapping]") {
    domain::ContactExport data;
    data.contact = SampleContact();
    domain::Contact merged = SampleContact();
    merged.id = "0f4d2b8e-2b7e-4d27-9a0c-51b6bd9a7e11";
    merged.fields.email = "ada.king@example.com";
    merged.state = domain::ContactState::kMerged;
    merged.merged_into_id = data.contact.id;
    data.merged_contacts = {merged};
    data.consent_history = {{.contact_id = data.contact.id,
                             .status = domain::ConsentStatus::kOptedIn,
                             .source = "form",
                             .change_time = At(1700000000123456)}};
    data.export_time = At(1800000000000000);

    const nlohmann::json doc = nlohmann::json::parse(mapping::ExportToJson(data));
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
}
