// Transcoding of HTTP requests into the contacts request messages (path variables, query parameters, body "*" or a
// field; proto3 JSON, unknown fields refused), responses into JSON, and gRPC statuses into HTTP statuses and
// Google's JSON error body.
#include "http/transcoder.hpp"

#include <crm/contacts/v1/contacts.pb.h>
#include <crm/marketing/v1/marketing.pb.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpcpp/support/status_code_enum.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http/rules.hpp"

using namespace crm::gateway;
namespace cv1 = crm::contacts::v1;
using nlohmann::json;

namespace {

const HttpRouteTable& Table() {
    static const HttpRouteTable table = HttpRouteTable::FromLinkedDescriptors();
    return table;
}

struct Built {
    TranscodeResult result;
    std::string error_json;
};

// Transcodes one request: method + target ("/v1/x?y=z") + body.
TranscodeResult Transcode(const std::string& method, const std::string& target, const std::string& body = {}) {
    const size_t q = target.find('?');
    auto [match, miss] = Table().Find(method, target.substr(0, q));
    REQUIRE(match);
    return BuildRequest(*match->route, match->bindings, q == std::string::npos ? "" : target.substr(q + 1), body);
}

template <typename T>
T Parsed(const TranscodeResult& r) {
    INFO((r.error ? r.error->violations.empty() ? r.error->message
                                                : r.error->violations[0].first + ": " + r.error->violations[0].second
                  : ""));
    REQUIRE(r.ok());
    T m;
    REQUIRE(m.ParseFromString(r.bytes));
    return m;
}

bool Violates(const TranscodeResult& r, const std::string& field) {
    if (r.ok()) return false;
    for (const auto& [f, d] : r.error->violations) {
        if (f == field) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("transcoder: body field, query parameters and path variables fill the request", "[http][transcoder]") {
    auto create = Parsed<cv1::CreateContactRequest>(
        Transcode("POST", "/v1/contacts?request_id=r-1&allowDuplicate=true",
                  R"({"givenName":"Ada","family_name":"Lovelace","email":"ada@example.com","tags":["a","b"],
                      "customFields":{"tier":"gold"}})"));
    CHECK(create.contact().given_name() == "Ada");
    CHECK(create.contact().family_name() == "Lovelace");
    CHECK(create.contact().tags_size() == 2);
    CHECK(create.contact().custom_fields().at("tier") == "gold");
    CHECK(create.request_id() == "r-1");
    CHECK(create.allow_duplicate());

    auto get = Parsed<cv1::GetContactRequest>(Transcode("GET", "/v1/contacts/0b5e7f1c-0000-4000-8000-000000000001"));
    CHECK(get.id() == "0b5e7f1c-0000-4000-8000-000000000001");

    auto list = Parsed<cv1::ListContactsRequest>(Transcode(
        "GET", "/v1/contacts?page_size=25&pageToken=abc%3D%3D&tag=vip+list&updated_after=2024-01-31T12:00:00Z"));
    CHECK(list.page_size() == 25);
    CHECK(list.page_token() == "abc==");
    CHECK(list.tag() == "vip list");
    CHECK(list.updated_after().seconds() == 1706702400);

    // PATCH: the path's id wins over the body's; the mask in snake_case or lowerCamelCase.
    auto update = Parsed<cv1::UpdateContactRequest>(Transcode(
        "PATCH", "/v1/contacts/id-1?update_mask=given_name,jobTitle&etag=e1", R"({"id":"other","givenName":"B"})"));
    CHECK(update.contact().id() == "id-1");
    CHECK(update.contact().given_name() == "B");
    REQUIRE(update.update_mask().paths_size() == 2);
    CHECK(update.update_mask().paths(0) == "given_name");
    CHECK(update.update_mask().paths(1) == "job_title");
    CHECK(update.etag() == "e1");

    // body "*": everything but the path from the body; repeated fields as JSON arrays.
    auto merge = Parsed<cv1::MergeContactsRequest>(
        Transcode("POST", "/v1/contacts/s-1:merge", R"({"loserIds":["l1","l2"],"requestId":"m-1"})"));
    CHECK(merge.survivor_id() == "s-1");
    CHECK(merge.loser_ids_size() == 2);
    CHECK(merge.request_id() == "m-1");

    // An empty body is an empty message; enums by name or number in the body.
    auto erase = Parsed<cv1::EraseContactRequest>(Transcode("POST", "/v1/contacts/e-1:erase"));
    CHECK(erase.id() == "e-1");
    auto consent = Parsed<cv1::UpdateContactConsentRequest>(
        Transcode("POST", "/v1/contacts/c-1:updateConsent", R"({"status":"CONSENT_STATUS_OPTED_IN","source":"web"})"));
    CHECK(consent.status() == cv1::CONSENT_STATUS_OPTED_IN);

    // Enums in the query by name or number; the additional GET binding of FindDuplicates.
    auto defs = Parsed<cv1::ListCustomFieldDefinitionsRequest>(
        Transcode("GET", "/v1/customFieldDefinitions?entity=CUSTOM_FIELD_ENTITY_COMPANY"));
    CHECK(defs.entity() == cv1::CUSTOM_FIELD_ENTITY_COMPANY);
    auto dups = Parsed<cv1::FindDuplicatesRequest>(Transcode("GET", "/v1/contacts/x:findDuplicates?page_size=3"));
    CHECK(dups.contact_id() == "x");
    CHECK(dups.page_size() == 3);
}

TEST_CASE("transcoder: malformed JSON, wrong types, unknown fields and bad parameters are INVALID_ARGUMENT",
          "[http][transcoder]") {
    CHECK(Violates(Transcode("POST", "/v1/contacts", R"({"givenName": "A")"), "body"));  // truncated
    CHECK(Violates(Transcode("POST", "/v1/contacts", "not json"), "body"));
    CHECK(Violates(Transcode("POST", "/v1/contacts", R"({"givenName": 5})"), "body"));  // wrong type
    CHECK(Violates(Transcode("POST", "/v1/contacts", R"({"givenName": ["a"]})"), "body"));
    CHECK(Violates(Transcode("POST", "/v1/contacts", R"({"nickname": "x"})"), "body"));  // unknown field
    CHECK(Violates(Transcode("POST", "/v1/contacts", R"(["array"])"), "body"));
    CHECK(Violates(Transcode("POST", "/v1/contacts", "{\"givenName\": \"\xff\"}"), "body"));  // not UTF-8
    CHECK(Violates(Transcode("GET", "/v1/contacts/x", "{}"), "body"));                        // GET takes no body
    CHECK(Violates(Transcode("GET", "/v1/contacts?page_size=ten"), "page_size"));
    CHECK(Violates(Transcode("GET", "/v1/contacts?page_size=99999999999"), "page_size"));
    CHECK(Violates(Transcode("GET", "/v1/contacts?page_size=1&page_size=2"), "page_size"));
    CHECK(Violates(Transcode("GET", "/v1/contacts?color=red"), "color"));
    CHECK(Violates(Transcode("GET", "/v1/contacts?updated_after=yesterday"), "updated_after"));
    CHECK(Violates(Transcode("GET", "/v1/contacts?tag=%zz"), "query"));
    CHECK(Violates(Transcode("GET", "/v1/contacts?show_deleted=yes"), "show_deleted"));
    CHECK(Violates(Transcode("GET", "/v1/customFieldDefinitions?entity=PLANET"), "entity"));
    CHECK(Violates(Transcode("PATCH", "/v1/contacts/x?contact.given_name=y", "{}"), "contact.given_name"));
    CHECK(Violates(Transcode("POST", "/v1/contacts/s:merge?request_id=x", "{}"), "request_id"));  // body "*"
    CHECK(Violates(Transcode("GET", "/v1/contacts/%ff"), "id"));  // a path value that is not UTF-8

    std::string many = "/v1/contacts?";
    for (int i = 0; i < 101; ++i) many += "tag=x&";
    CHECK(Violates(Transcode("GET", many), "query"));

    // Every problem of one request in one answer.
    auto r = Transcode("GET", "/v1/contacts?page_size=x&color=red&tag=ok");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error->violations.size() == 2);
}

TEST_CASE("transcoder: responses as proto3 JSON", "[http][transcoder]") {
    auto [match, miss] = Table().Find("GET", "/v1/contacts/x");
    REQUIRE(match);
    cv1::GetContactResponse response;
    response.mutable_contact()->set_id("x");
    response.mutable_contact()->set_given_name("Ada");
    response.mutable_contact()->set_version(7);
    response.mutable_contact()->set_state(cv1::CONTACT_STATE_ACTIVE);
    response.mutable_contact()->mutable_create_time()->set_seconds(1706702400);
    auto text = ResponseJson(*match->route, response.SerializeAsString());
    REQUIRE(text);
    const auto j = json::parse(*text);
    CHECK(j["contact"]["givenName"] == "Ada");
    CHECK(j["contact"]["version"] == "7");  // int64 as a string
    CHECK(j["contact"]["state"] == "CONTACT_STATE_ACTIVE");
    CHECK(j["contact"]["createTime"] == "2024-01-31T12:00:00Z");
    CHECK_FALSE(ResponseJson(*match->route, "\xff\xff\xff"));
}

TEST_CASE("transcoder: a google.api.HttpBody response is a raw body with its content type", "[http][transcoder]") {
    auto [pixel, miss] = Table().Find("GET", "/o/sometoken");  // response_body "pixel" (a google.api.HttpBody)
    REQUIRE(pixel);
    REQUIRE(IsRawBody(*pixel->route));
    crm::marketing::v1::OpenEmailPixelResponse response;
    response.mutable_pixel()->set_content_type("image/gif");
    response.mutable_pixel()->set_data(std::string("GIF89a\x01\x00\x01\x00\x00\xff", 12));
    const auto raw = ResponseRawBody(*pixel->route, response.SerializeAsString());
    REQUIRE(raw);
    CHECK(raw->content_type == "image/gif");
    CHECK(raw->data == std::string("GIF89a\x01\x00\x01\x00\x00\xff", 12));  // bytes as they are, NUL included
    // No content type, or one that would break the header: refused (the gateway answers 500, never the bytes).
    response.mutable_pixel()->clear_content_type();
    CHECK_FALSE(ResponseRawBody(*pixel->route, response.SerializeAsString()));
    response.mutable_pixel()->set_content_type("image/gif\r\nset-cookie: a=b");
    CHECK_FALSE(ResponseRawBody(*pixel->route, response.SerializeAsString()));
    CHECK_FALSE(ResponseRawBody(*pixel->route, "\xff\xff\xff"));
    // JSON routes are not raw.
    auto [contact, unused] = Table().Find("GET", "/v1/contacts/x");
    REQUIRE(contact);
    CHECK_FALSE(IsRawBody(*contact->route));
    CHECK_FALSE(ResponseRawBody(*contact->route, cv1::GetContactResponse().SerializeAsString()));
}

TEST_CASE("transcoder: gRPC codes map to HTTP statuses per Google's table", "[http][transcoder]") {
    using C = grpc::StatusCode;
    const std::vector<std::pair<C, int>> table = {
        {C::OK, 200},
        {C::CANCELLED, 499},
        {C::UNKNOWN, 500},
        {C::INVALID_ARGUMENT, 400},
        {C::DEADLINE_EXCEEDED, 504},
        {C::NOT_FOUND, 404},
        {C::ALREADY_EXISTS, 409},
        {C::PERMISSION_DENIED, 403},
        {C::RESOURCE_EXHAUSTED, 429},
        {C::FAILED_PRECONDITION, 400},
        {C::ABORTED, 409},
        {C::OUT_OF_RANGE, 400},
        {C::UNIMPLEMENTED, 501},
        {C::INTERNAL, 500},
        {C::UNAVAILABLE, 503},
        {C::DATA_LOSS, 500},
        {C::UNAUTHENTICATED, 401},
    };
    for (const auto& [code, http] : table) {
        INFO(static_cast<int>(code));
        CHECK(HttpStatusFor(static_cast<int>(code)) == http);
    }
}

TEST_CASE("transcoder: error body with the decoded google.rpc details", "[http][transcoder]") {
    google::rpc::Status status;
    status.set_code(3);
    google::rpc::BadRequest bad;
    auto* v = bad.add_field_violations();
    v->set_field("contact.email");
    v->set_description("not an email address");
    google::rpc::ErrorInfo info;
    info.set_reason("VALIDATION");
    status.add_details()->PackFrom(info);
    status.add_details()->PackFrom(bad);
    const auto j = json::parse(ErrorJson(3, "invalid \"contact\"", status.SerializeAsString()));
    CHECK(j["error"]["code"] == 400);
    CHECK(j["error"]["status"] == "INVALID_ARGUMENT");
    CHECK(j["error"]["message"] == "invalid \"contact\"");
    REQUIRE(j["error"]["details"].size() == 2);
    CHECK(j["error"]["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo");
    CHECK(j["error"]["details"][1]["fieldViolations"][0]["field"] == "contact.email");

    // Details that are not a google.rpc.Status, or of a type the gateway does not know, are left out.
    CHECK(json::parse(ErrorJson(13, "x", "garbage"))["error"]["details"].empty());
    google::rpc::Status unknown;
    auto* any = unknown.add_details();
    any->set_type_url("type.googleapis.com/acme.Secret");
    any->set_value("x");
    CHECK(json::parse(ErrorJson(13, "x", unknown.SerializeAsString()))["error"]["details"].empty());

    // A transcoding error: INVALID_ARGUMENT with ErrorInfo and BadRequest.
    const auto t = json::parse(ErrorJson(TranscodeError{"invalid request", {{"page_size", "must be an integer"}}}));
    CHECK(t["error"]["code"] == 400);
    CHECK(t["error"]["details"][1]["fieldViolations"][0]["field"] == "page_size");
}
