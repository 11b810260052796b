// HTTP/JSON through the real gateway (CRM_TEST_GATEWAY_HTTP) to the real services: a round trip for every route the
// gateway publishes in its OpenAPI document (generated from the linked descriptors, so a new service's routes show
// up here and fail the test until they have a scenario), checked against the gRPC API; then errors: malformed JSON,
// wrong types, unknown fields, bad path and query parameters, an oversized body, 401/403/404/405/409/415/429, CORS,
// keep-alive, a backend that is down (503) and Redis down (served, like gRPC).
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/http_client.hpp"
#include "crm/common/public_token.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpReply Call(const std::string& method, const std::string& target, const std::string& token,
               const std::string& body = {}, Headers extra = {}) {
    HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    Headers h = std::move(extra);
    if (!token.empty()) h.emplace_back("authorization", "Bearer " + token);
    if (!body.empty()) h.emplace_back("content-type", "application/json");
    return client.Send(method, target, h, body);
}

json Json(const HttpReply& r) {
    INFO(r.status << " " << r.body.substr(0, 500));
    auto j = json::parse(r.body, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

json Ok(const HttpReply& r) {
    INFO(r.body.substr(0, 500));
    REQUIRE(r.status == 200);
    CHECK(r.Header("content-type") == "application/json");
    CHECK_FALSE(r.Header("x-request-id").empty());
    return Json(r);
}

// The error body: status, code and the field violations (google.rpc.BadRequest) if any.
struct ErrorBody {
    int code = 0;
    std::string status;
    std::string message;
    std::set<std::string> fields;
    std::string reason;
};
ErrorBody Error(const HttpReply& r) {
    const json j = Json(r);
    ErrorBody e;
    e.code = j["error"]["code"].get<int>();
    e.status = j["error"]["status"].get<std::string>();
    e.message = j["error"]["message"].get<std::string>();
    for (const auto& d : j["error"]["details"]) {
        if (d.contains("fieldViolations")) {
            for (const auto& v : d["fieldViolations"]) e.fields.insert(v["field"].get<std::string>());
        }
        if (d.contains("reason")) e.reason = d["reason"].get<std::string>();
    }
    CHECK(e.code == r.status);
    return e;
}

// The service's own refusal of a call that reached it through the transcoder: the exact HTTP status, the gRPC status
// name, its ErrorInfo reason and the start of its message.
void Refused(const HttpReply& r, int http_status, const std::string& status, const std::string& reason,
             const std::string& message_start) {
    INFO(r.status << " " << r.body.substr(0, 500));
    REQUIRE(r.status == http_status);
    const ErrorBody e = Error(r);
    CHECK(e.status == status);
    CHECK(e.reason == reason);
    CHECK(e.message.rfind(message_start, 0) == 0);
}

long RowsOf(const std::string& tenant) {
    return std::stol(QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant + "'")) +
           std::stol(QueryScalar("contacts", "SELECT count(*) FROM companies WHERE tenant_id = '" + tenant + "'"));
}

double GatewayMetric(const std::string& series) {
    const std::string cmd = "curl -fsS --max-time 5 http://" + RequireEnv("CRM_TEST_GATEWAY_METRICS") + "/metrics";
    FILE* out = popen(cmd.c_str(), "r");
    REQUIRE(out != nullptr);
    std::string text;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
    REQUIRE(pclose(out) == 0);
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size() + 2));
}

// The routes the running gateway serves, as "METHOD /path/{var}:verb", from its OpenAPI document.
std::set<std::string> PublishedRoutes() {
    const json doc = Ok(Call("GET", "/openapi.json", ""));
    std::set<std::string> out;
    for (const auto& [path, ops] : doc["paths"].items()) {
        for (const auto& [method, op] : ops.items()) {
            std::string m = method;
            for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            out.insert(m + " " + path);
        }
    }
    return out;
}

std::string Uuid() { return crm::common::NewUuid(); }

}  // namespace

TEST_CASE("gateway http: every published route round-trips over HTTP/JSON and matches the gRPC API",
          "[integration][gateway][http]") {
    const std::string tenant = UniqueTenant("http");
    const std::string token = TokenFor(tenant);
    ContactsClient grpc_client(token);
    std::map<std::string, std::string> ids;
    const std::string email = "ada." + Uuid().substr(0, 8) + "@example.com";
    const auto day = [] {  // today and tomorrow, 00:00 UTC, RFC 3339
        const auto now = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
        auto format = [](std::chrono::system_clock::time_point t) {
            const std::time_t tt = std::chrono::system_clock::to_time_t(t);
            std::tm tm{};
            gmtime_r(&tt, &tm);
            char buf[32];
            std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
            return std::string(buf);
        };
        return std::make_pair(format(now), format(now + std::chrono::days(1)));
    }();

    // One scenario per route, run in this order (later ones use what earlier ones created).
    const std::vector<std::pair<std::string, std::function<void()>>> scenarios = {
        {"POST /v1/companies",
         [&] {
             const json j = Ok(Call("POST", "/v1/companies?request_id=" + Uuid(), token,
                                    R"({"name":"Acme","domain":"acme.example","tags":["Key Account"]})"));
             ids["company"] = j["company"]["id"];
             CHECK(j["company"]["tags"] == json::array({"key account"}));
         }},
        {"GET /v1/companies/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/companies/" + ids["company"], token))["company"]["name"] == "Acme"); }},
        {"GET /v1/companies",
         [&] {
             const json j = Ok(Call("GET", "/v1/companies?page_size=10&tag=key+account", token));
             REQUIRE(j["companies"].size() == 1);
             CHECK(j["companies"][0]["id"] == ids["company"]);
         }},
        {"PATCH /v1/companies/{company.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/companies/" + ids["company"] + "?update_mask=industry", token,
                                    R"({"industry":"Tools","name":"ignored: not in the mask"})"));
             CHECK(j["company"]["industry"] == "Tools");
             cv1::GetCompanyRequest req;
             req.set_id(ids["company"]);
             auto g = grpc_client.GetCompany(req);
             REQUIRE(g.ok());
             CHECK(g.response.company().industry() == "Tools");
             CHECK(g.response.company().name() == "Acme");
         }},
        {"POST /v1/customFieldDefinitions",
         [&] {
             const json j = Ok(Call("POST", "/v1/customFieldDefinitions", token,
                                    R"({"entity":"CUSTOM_FIELD_ENTITY_CONTACT","key":"tier","label":"Tier",
                                        "type":"CUSTOM_FIELD_TYPE_TEXT"})"));
             ids["definition"] = j["customFieldDefinition"]["id"];
         }},
        {"GET /v1/customFieldDefinitions",
         [&] {
             const json j = Ok(Call("GET", "/v1/customFieldDefinitions?entity=CUSTOM_FIELD_ENTITY_CONTACT", token));
             REQUIRE(j["customFieldDefinitions"].size() == 1);
             CHECK(j["customFieldDefinitions"][0]["key"] == "tier");
         }},
        {"POST /v1/contacts",
         [&] {
             const std::string request_id = Uuid();
             const std::string body = R"({"givenName":"Ada","familyName":"Lovelace","email":")" + email +
                                      R"(","phone":"+44 20 7946 0018","companyId":")" + ids["company"] +
                                      R"(","tags":["VIP"],"customFields":{"tier":"gold"}})";
             const json j = Ok(Call("POST", "/v1/contacts?request_id=" + request_id, token, body));
             ids["contact"] = j["contact"]["id"];
             CHECK(j["contact"]["phone"] == "+442079460018");
             CHECK(j["contact"]["version"] == "1");  // int64 as a string (proto3 JSON)
             // A retry with the same request_id returns the same contact and writes nothing.
             CHECK(Ok(Call("POST", "/v1/contacts?request_id=" + request_id, token, body))["contact"]["id"] ==
                   ids["contact"]);
             const json other = Ok(Call("POST", "/v1/contacts", token,
                                        R"({"givenName":"Augusta","familyName":"King","email":"augusta.)" +
                                            Uuid().substr(0, 8) + R"(@example.com"})"));
             ids["loser"] = other["contact"]["id"];
         }},
        {"GET /v1/contacts/{id}",
         [&] {
             const json j = Ok(Call("GET", "/v1/contacts/" + ids["contact"], token));
             cv1::GetContactRequest req;
             req.set_id(ids["contact"]);
             auto g = grpc_client.GetContact(req);
             REQUIRE(g.ok());
             CHECK(j["contact"]["email"] == g.response.contact().email());
             CHECK(j["contact"]["etag"] == g.response.contact().etag());
             CHECK(j["contact"]["customFields"]["tier"] == "gold");
             CHECK(j["contact"]["state"] == "CONTACT_STATE_ACTIVE");
             ids["etag"] = j["contact"]["etag"];
         }},
        // Analytics reads the contacts events from Kafka: the two contacts and the company created above show up.
        {"GET /v1/analytics/kpis",
         [&] {
             json j;
             for (int i = 0; i < 120; ++i) {
                 j = Ok(Call("GET", "/v1/analytics/kpis?startTime=" + day.first + "&end_time=" + day.second, token));
                 if (j.value("newContacts", "0") == "2" && j.value("newCompanies", "0") == "1") break;
                 std::this_thread::sleep_for(250ms);
             }
             CHECK(j.value("newContacts", "0") == "2");
             CHECK(j.value("newCompanies", "0") == "1");
         }},
        {"GET /v1/analytics/timeseries",
         [&] {
             const json j = Ok(Call("GET",
                                    "/v1/analytics/timeseries?metric=METRIC_NEW_CONTACTS&granularity=GRANULARITY_DAY"
                                    "&startTime=" +
                                        day.first + "&endTime=" + day.second,
                                    token));
             CHECK(j["metric"] == "METRIC_NEW_CONTACTS");
             CHECK(j["granularity"] == "GRANULARITY_DAY");
         }},
        {"POST /v1/analytics/projections:rebuild",
         [&] {
             const json j = Ok(Call("POST", "/v1/analytics/projections:rebuild", token,
                                    R"({"scope":"REBUILD_SCOPE_TENANT","validateOnly":true})"));
             CHECK(j["tenantsRebuilt"] == "1");
             CHECK(j["tenants"][0]["tenantId"] == tenant);
         }},
        {"GET /v1/contacts",
         [&] {
             const json first = Ok(Call("GET", "/v1/contacts?page_size=1", token));
             REQUIRE(first["contacts"].size() == 1);
             const std::string next = first["nextPageToken"];
             REQUIRE_FALSE(next.empty());
             std::string escaped;
             for (unsigned char c : next) {
                 char buf[4];
                 std::snprintf(buf, sizeof buf, "%%%02X", c);
                 escaped += std::isalnum(c) ? std::string(1, static_cast<char>(c)) : std::string(buf);
             }
             const json second = Ok(Call("GET", "/v1/contacts?page_size=1&page_token=" + escaped, token));
             REQUIRE(second["contacts"].size() == 1);
             CHECK(second["contacts"][0]["id"] != first["contacts"][0]["id"]);
         }},
        {"PATCH /v1/contacts/{contact.id}",
         [&] {
             const std::string target = "/v1/contacts/" + ids["contact"] + "?updateMask=jobTitle&etag=" + ids["etag"];
             const json j = Ok(Call("PATCH", target, token, R"({"jobTitle":"Analyst","givenName":"not in mask"})"));
             CHECK(j["contact"]["jobTitle"] == "Analyst");
             CHECK(j["contact"]["givenName"] == "Ada");
             // The same etag again is stale now: 409 ABORTED, nothing changed.
             const auto again = Call("PATCH", target, token, R"({"jobTitle":"Engineer"})");
             CHECK(again.status == 409);
             CHECK(Error(again).status == "ABORTED");
         }},
        {"GET /v1/contacts:search",
         [&] {
             const json j = Ok(Call("GET", "/v1/contacts:search?query=lovel", token));
             REQUIRE(j["contacts"].size() == 1);
             CHECK(j["contacts"][0]["id"] == ids["contact"]);
         }},
        {"POST /v1/contacts:findDuplicates",
         [&] {
             const json j =
                 Ok(Call("POST", "/v1/contacts:findDuplicates", token,
                         R"({"candidate":{"givenName":"Ada","familyName":"Lovelace","email":")" + email + R"("}})"));
             REQUIRE_FALSE(j["matches"].empty());
             CHECK(j["matches"][0]["contact"]["id"] == ids["contact"]);
         }},
        {"GET /v1/contacts/{contact_id}:findDuplicates",
         [&] {
             const json j = Ok(Call("GET", "/v1/contacts/" + ids["contact"] + ":findDuplicates?page_size=5", token));
             CHECK(j.is_object());
         }},
        {"POST /v1/contacts/{id}:updateConsent",
         [&] {
             const json j = Ok(Call("POST", "/v1/contacts/" + ids["contact"] + ":updateConsent", token,
                                    R"({"status":"CONSENT_STATUS_OPTED_IN","source":"web_form"})"));
             CHECK(j["contact"]["emailConsent"]["status"] == "CONSENT_STATUS_OPTED_IN");
         }},
        {"GET /v1/contacts/{id}:export",
         [&] {
             const json j = Ok(Call("GET", "/v1/contacts/" + ids["contact"] + ":export", token));
             const json exported = json::parse(j["json"].get<std::string>());
             CHECK(exported["contact"]["email"] == email);
         }},
        {"POST /v1/contacts/{survivor_id}:merge",
         [&] {
             const json j = Ok(Call("POST", "/v1/contacts/" + ids["contact"] + ":merge", token,
                                    R"({"loserIds":[")" + ids["loser"] + R"("],"requestId":")" + Uuid() + R"("})"));
             CHECK(j["contact"]["id"] == ids["contact"]);
             CHECK(Ok(Call("GET", "/v1/contacts/" + ids["loser"], token))["contact"]["state"] ==
                   "CONTACT_STATE_MERGED");
         }},
        {"DELETE /v1/contacts/{id}",
         [&] {
             const json j = Ok(Call("DELETE", "/v1/contacts/" + ids["contact"], token));
             CHECK(j["contact"].contains("deleteTime"));
         }},
        {"POST /v1/contacts/{id}:erase",
         [&] {
             const json j = Ok(Call("POST", "/v1/contacts/" + ids["contact"] + ":erase", token));
             CHECK(j["contact"]["state"] == "CONTACT_STATE_ERASED");
             CHECK_FALSE(j["contact"].contains("email"));
         }},
        // Leads.
        {"POST /v1/leads",
         [&] {
             const json j = Ok(Call("POST", "/v1/leads", token,
                                    R"({"givenName":"Lin","familyName":"Lead","email":"lin.)" + Uuid().substr(0, 8) +
                                        R"(@example.com","companyName":"Lead Co"})"));
             ids["lead"] = j["lead"]["id"];
         }},
        {"GET /v1/leads/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/leads/" + ids["lead"], token))["lead"]["givenName"] == "Lin"); }},
        {"GET /v1/leads",
         [&] {
             const json j = Ok(Call("GET", "/v1/leads?page_size=10", token));
             REQUIRE(j["leads"].size() == 1);
             CHECK(j["leads"][0]["id"] == ids["lead"]);
         }},
        {"PATCH /v1/leads/{lead.id}",
         [&] {
             const json j =
                 Ok(Call("PATCH", "/v1/leads/" + ids["lead"] + "?update_mask=notes", token, R"({"notes":"called"})"));
             CHECK(j["lead"]["notes"] == "called");
         }},
        {"POST /v1/leads/{lead_id}/engagements",
         [&] {
             Ok(Call("POST", "/v1/leads/" + ids["lead"] + "/engagements", token,
                     R"({"engagement":{"type":"demo","direction":"ENGAGEMENT_DIRECTION_INBOUND"}})"));
         }},
        {"GET /v1/scoringRules", [&] { CHECK(Ok(Call("GET", "/v1/scoringRules", token)).is_object()); }},
        {"PUT /v1/scoringRules",
         [&] {
             Ok(Call("PUT", "/v1/scoringRules", token,
                     R"({"rules":[{"name":"demo booked","engagement":{"type":"demo"},"weight":10}]})"));
             const json j = Ok(Call("GET", "/v1/scoringRules", token));
             CHECK(j["scoringRules"]["rules"][0]["name"] == "demo booked");
         }},
        // A fresh tenant has no converted leads to learn from, so training is refused, and so is a prediction.
        {"POST /v1/scoringModel:train",
         [&] {
             Refused(Call("POST", "/v1/scoringModel:train", token, "{}"), 400, "FAILED_PRECONDITION",
                     "NOT_ENOUGH_TRAINING_DATA", "too little data to train: 0 converted and 0 unconverted leads");
         }},
        {"GET /v1/leads/{lead_id}:predictConversion",
         [&] {
             Refused(Call("GET", "/v1/leads/" + ids["lead"] + ":predictConversion?top_factors=3", token), 400,
                     "FAILED_PRECONDITION", "NO_MODEL", "no scoring model was trained for this tenant");
         }},
        {"GET /v1/assignmentConfig", [&] { CHECK(Ok(Call("GET", "/v1/assignmentConfig", token)).is_object()); }},
        {"PUT /v1/assignmentConfig",
         [&] {
             const json current = Ok(Call("GET", "/v1/assignmentConfig", token));
             const json config = current.value("assignmentConfig", json::object());
             const json j = Ok(Call("PUT", "/v1/assignmentConfig", token, config.dump()));
             REQUIRE(j.contains("assignmentConfig"));
             CHECK(j["assignmentConfig"]["updateTime"].is_string());
         }},
        {"POST /v1/leads/{id}:assign",
         [&] {
             const json j = Ok(Call("POST", "/v1/leads/" + ids["lead"] + ":assign", token, R"({"ownerId":"user-7"})"));
             CHECK(j["lead"]["ownerId"] == "user-7");
         }},
        {"POST /v1/leads/{id}:changeStatus",
         [&] {
             Ok(Call("POST", "/v1/leads/" + ids["lead"] + ":changeStatus", token,
                     R"({"status":"LEAD_STATUS_WORKING"})"));
             const json j = Ok(Call("POST", "/v1/leads/" + ids["lead"] + ":changeStatus", token,
                                    R"({"status":"LEAD_STATUS_QUALIFIED"})"));
             CHECK(j["lead"]["status"] == "LEAD_STATUS_QUALIFIED");
         }},
        {"POST /v1/leads/{id}:convert",
         [&] {
             const json j = Ok(Call("POST", "/v1/leads/" + ids["lead"] + ":convert", token, "{}"));
             CHECK(j["lead"]["status"] == "LEAD_STATUS_CONVERTED");
             const std::string contact = j["lead"]["conversion"]["contactId"];
             CHECK(Ok(Call("GET", "/v1/contacts/" + contact, token))["contact"]["email"] == j["lead"]["email"]);
         }},
        {"PUT /v1/webForms/{web_form.id}",
         [&] {
             const json j = Ok(Call(
                 "PUT", "/v1/webForms/http-form", token,
                 R"({"name":"Site","fieldMapping":{"email":"email"},"consentText":"I agree","consentVersion":"v1","minFillSeconds":1})"));
             CHECK(j["webForm"]["id"] == "http-form");
             CHECK(j["webForm"]["minFillSeconds"] == 1);
         }},
        {"GET /v1/webForms/{id}",
         [&] {
             const json j = Ok(Call("GET", "/v1/webForms/http-form", token));
             CHECK(j["webForm"]["name"] == "Site");
             CHECK(j["webForm"]["consentVersion"] == "v1");
         }},
        {"POST /v1/webForms/{form_id}:issueToken",
         [&] {
             const json j = Ok(Call("POST", "/v1/webForms/http-form:issueToken", token, "{}"));
             CHECK(j["consentVersion"] == "v1");
             ids["form_token"] = j.value("formToken", "");
             CHECK_FALSE(ids["form_token"].empty());
         }},
        {"POST /v1/webForms/{form_id}:submit",
         [&] {
             const json body = {{"formToken", ids["form_token"]},
                                {"fields", {{"email", "form." + Uuid().substr(0, 8) + "@example.com"}}},
                                {"consentGranted", true},
                                {"consentText", "I agree"},
                                {"consentVersion", "v1"}};
             // The form's minimum fill time (1 s, set above) must pass first: an earlier submission is a bot's.
             Refused(Call("POST", "/v1/webForms/http-form:submit", token, body.dump()), 400, "FAILED_PRECONDITION",
                     "BOT", "submission refused: the form was submitted too fast");
             std::this_thread::sleep_for(1200ms);
             const json j = Ok(Call("POST", "/v1/webForms/http-form:submit", token, body.dump()));
             CHECK(j["created"] == true);
             CHECK(Ok(Call("GET", "/v1/leads/" + j["leadId"].get<std::string>(), token))["lead"]["email"] ==
                   body["fields"]["email"]);
         }},
        // Sales.
        {"GET /v1/pipelines:default",
         [&] {
             const json j = Ok(Call("GET", "/v1/pipelines:default", token));
             CHECK(j["pipeline"]["isDefault"] == true);
             REQUIRE(j["pipeline"]["stages"].size() == 6);
             ids["pipeline"] = j["pipeline"]["id"];
             ids["stage2"] = j["pipeline"]["stages"][2]["id"];
         }},
        {"POST /v1/pipelines",
         [&] {
             auto stage = [](const char* name, int probability, const char* category) {
                 return json{{"name", name}, {"probability", probability}, {"forecastCategory", category}};
             };
             const json body = {
                 {"name", "Partner deals"},
                 {"stages",
                  {stage("Intro", 10, "FORECAST_CATEGORY_PIPELINE"), stage("Offer", 50, "FORECAST_CATEGORY_BEST_CASE"),
                   stage("Signing", 90, "FORECAST_CATEGORY_COMMIT"), stage("Won", 100, "FORECAST_CATEGORY_CLOSED_WON"),
                   stage("Lost", 0, "FORECAST_CATEGORY_CLOSED_LOST")}}};
             const json j = Ok(Call("POST", "/v1/pipelines?request_id=" + Uuid(), token, body.dump()));
             CHECK(j["pipeline"]["stages"].size() == 5);
             ids["pipeline2"] = j["pipeline"]["id"];
             for (int i = 0; i < 5; ++i) ids["p2stage" + std::to_string(i)] = j["pipeline"]["stages"][i]["id"];
         }},
        {"GET /v1/pipelines/{id}",
         [&] {
             const json j = Ok(Call("GET", "/v1/pipelines/" + ids["pipeline2"], token));
             CHECK(j["pipeline"]["name"] == "Partner deals");
         }},
        {"GET /v1/pipelines", [&] { CHECK(Ok(Call("GET", "/v1/pipelines", token))["pipelines"].size() == 2); }},
        {"PATCH /v1/pipelines/{pipeline.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/pipelines/" + ids["pipeline2"] + "?update_mask=name", token,
                                    json({{"name", "Partners"}}).dump()));
             CHECK(j["pipeline"]["name"] == "Partners");
         }},
        {"POST /v1/pipelines/{pipeline.id}:update",
         [&] {  // the whole request as the body: a stage replaced, its deals' target named in removedStages
             const auto kept = [&](int i) { return json{{"id", ids["p2stage" + std::to_string(i)]}}; };
             json intro = kept(0), signing = kept(2), won = kept(3), lost = kept(4);
             intro.update({{"name", "Intro"}, {"probability", 10}, {"forecastCategory", "FORECAST_CATEGORY_PIPELINE"}});
             signing.update(
                 {{"name", "Signing"}, {"probability", 90}, {"forecastCategory", "FORECAST_CATEGORY_COMMIT"}});
             won.update({{"name", "Won"}, {"probability", 100}, {"forecastCategory", "FORECAST_CATEGORY_CLOSED_WON"}});
             lost.update({{"name", "Lost"}, {"probability", 0}, {"forecastCategory", "FORECAST_CATEGORY_CLOSED_LOST"}});
             const json proposal = {
                 {"name", "Proposal"}, {"probability", 40}, {"forecastCategory", "FORECAST_CATEGORY_BEST_CASE"}};
             const json body = {
                 {"pipeline", {{"stages", {intro, proposal, signing, won, lost}}}},
                 {"updateMask", "stages"},
                 {"removedStages",
                  {{{"stageId", ids["p2stage1"]}, {"moveOpenOpportunitiesToStageId", ids["p2stage0"]}}}}};
             const json j = Ok(Call("POST", "/v1/pipelines/" + ids["pipeline2"] + ":update", token, body.dump()));
             REQUIRE(j["pipeline"]["stages"].size() == 5);
             CHECK(j["pipeline"]["stages"][1]["name"] == "Proposal");
             CHECK(j["pipeline"]["name"] == "Partners");
             REQUIRE(j["pipeline"]["archivedStages"].size() == 1);
             CHECK(j["pipeline"]["archivedStages"][0]["id"] == ids["p2stage1"]);
         }},
        {"POST /v1/opportunities",
         [&] {
             const json body = {{"name", "HTTP deal"},
                                {"amount", {{"amountMinor", "10000"}, {"currencyCode", "EUR"}}},
                                {"expectedCloseDate", day.first.substr(0, 10)}};
             const json j = Ok(Call("POST", "/v1/opportunities?request_id=" + Uuid(), token, body.dump()));
             CHECK(j["opportunity"]["stageName"] == "Qualification");
             CHECK(j["opportunity"]["amount"]["amountMinor"] == "10000");
             ids["deal"] = j["opportunity"]["id"];
             for (const char* name : {"deal_won", "deal_lost"}) {
                 ids[name] = Ok(Call("POST", "/v1/opportunities", token, body.dump()))["opportunity"]["id"];
             }
         }},
        {"GET /v1/opportunities/{id}",
         [&] {
             const json j = Ok(Call("GET", "/v1/opportunities/" + ids["deal"], token));
             CHECK(j["opportunity"]["name"] == "HTTP deal");
         }},
        {"GET /v1/opportunities",
         [&] {
             const json j = Ok(Call("GET", "/v1/opportunities?owner_id=test-user&page_size=10", token));
             CHECK(j["opportunities"].size() == 3);
         }},
        {"PATCH /v1/opportunities/{opportunity.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/opportunities/" + ids["deal"] + "?update_mask=description", token,
                                    json({{"description", "via HTTP"}}).dump()));
             CHECK(j["opportunity"]["description"] == "via HTTP");
         }},
        {"POST /v1/opportunities/{id}:moveStage",
         [&] {
             const json j = Ok(Call("POST", "/v1/opportunities/" + ids["deal"] + ":moveStage", token,
                                    json({{"stageId", ids["stage2"]}}).dump()));
             CHECK(j["opportunity"]["forecastCategory"] == "FORECAST_CATEGORY_BEST_CASE");
         }},
        {"GET /v1/opportunities/{opportunity_id}/stageHistory",
         [&] {
             const json j = Ok(Call("GET", "/v1/opportunities/" + ids["deal"] + "/stageHistory", token));
             CHECK(j["entries"].size() == 2);
         }},
        {"POST /v1/opportunities/{id}:win",
         [&] {
             const json j = Ok(Call("POST", "/v1/opportunities/" + ids["deal_won"] + ":win", token, "{}"));
             CHECK(j["opportunity"]["status"] == "OPPORTUNITY_STATUS_WON");
         }},
        {"POST /v1/opportunities/{id}:lose",
         [&] {
             const json j = Ok(Call("POST", "/v1/opportunities/" + ids["deal_lost"] + ":lose", token,
                                    json({{"reason", "price"}}).dump()));
             CHECK(j["opportunity"]["lostReason"] == "price");
         }},
        {"POST /v1/activities",
         [&] {
             const json body = {
                 {"type", "ACTIVITY_TYPE_CALL"}, {"subject", "Discovery call"}, {"opportunityId", ids["deal"]}};
             ids["activity"] = Ok(Call("POST", "/v1/activities", token, body.dump()))["activity"]["id"];
         }},
        {"GET /v1/activities/{id}",
         [&] {
             const json j = Ok(Call("GET", "/v1/activities/" + ids["activity"], token));
             CHECK(j["activity"]["subject"] == "Discovery call");
         }},
        {"PATCH /v1/activities/{activity.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/activities/" + ids["activity"] + "?update_mask=subject", token,
                                    json({{"subject", "Discovery call, moved"}}).dump()));
             CHECK(j["activity"]["version"] == "2");
         }},
        {"GET /v1/activities",
         [&] {
             const json j =
                 Ok(Call("GET", "/v1/activities?record_type=RECORD_TYPE_OPPORTUNITY&record_id=" + ids["deal"], token));
             REQUIRE(j["activities"].size() == 1);
             CHECK(j["activities"][0]["id"] == ids["activity"]);
         }},
        {"POST /v1/activities/{id}:complete",
         [&] {
             const json j = Ok(Call("POST", "/v1/activities/" + ids["activity"] + ":complete", token,
                                    json({{"outcome", "ok"}}).dump()));
             CHECK(j["activity"]["status"] == "ACTIVITY_STATUS_COMPLETED");
         }},
        {"POST /v1/products",
         [&] {
             const json body = {{"name", "Widget"}, {"sku", "HTTP-W"}};
             ids["product"] = Ok(Call("POST", "/v1/products", token, body.dump()))["product"]["id"];
         }},
        {"GET /v1/products/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/products/" + ids["product"], token))["product"]["sku"] == "HTTP-W"); }},
        {"GET /v1/products", [&] { CHECK(Ok(Call("GET", "/v1/products", token))["products"].size() == 1); }},
        {"PATCH /v1/products/{product.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/products/" + ids["product"] + "?update_mask=description", token,
                                    json({{"description", "Blue"}}).dump()));
             CHECK(j["product"]["description"] == "Blue");
         }},
        {"PUT /v1/products/{entry.product_id}/prices",
         [&] {
             const json body = {{"unitPrice", {{"amountMinor", "1999"}, {"currencyCode", "EUR"}}}};
             const json j = Ok(Call("PUT", "/v1/products/" + ids["product"] + "/prices", token, body.dump()));
             CHECK(j["entry"]["unitPrice"]["amountMinor"] == "1999");
         }},
        {"GET /v1/priceBookEntries",
         [&] { CHECK(Ok(Call("GET", "/v1/priceBookEntries?currency_code=EUR", token))["entries"].size() == 1); }},
        {"POST /v1/quotes",
         [&] {
             const json line = {
                 {"productId", ids["product"]}, {"quantity", "3"}, {"discountPercent", "10"}, {"taxPercent", "7.5"}};
             const json body = {{"opportunityId", ids["deal"]}, {"title", "Offer"}, {"lineItems", json::array({line})}};
             const json j = Ok(Call("POST", "/v1/quotes?request_id=" + Uuid(), token, body.dump()));
             CHECK(j["quote"]["total"]["amountMinor"] == "5802");
             ids["quote"] = j["quote"]["id"];
         }},
        {"GET /v1/quotes/{id}",
         [&] {
             const json j = Ok(Call("GET", "/v1/quotes/" + ids["quote"], token));
             CHECK(j["quote"]["status"] == "QUOTE_STATUS_DRAFT");
         }},
        {"GET /v1/quotes",
         [&] { CHECK(Ok(Call("GET", "/v1/quotes?opportunity_id=" + ids["deal"], token))["quotes"].size() == 1); }},
        {"PATCH /v1/quotes/{quote.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/quotes/" + ids["quote"] + "?update_mask=title", token,
                                    json({{"title", "Final offer"}}).dump()));
             CHECK(j["quote"]["title"] == "Final offer");
         }},
        {"POST /v1/quotes/{id}:submit",
         [&] {
             const json j = Ok(Call("POST", "/v1/quotes/" + ids["quote"] + ":submit", token, "{}"));
             CHECK(j["quote"]["status"] == "QUOTE_STATUS_APPROVED");
         }},
        // 10% is under the default threshold, so there is nothing to approve: the service's refusal is the answer.
        {"POST /v1/quotes/{id}:approve",
         [&] {
             Refused(Call("POST", "/v1/quotes/" + ids["quote"] + ":approve", token, "{}"), 400, "FAILED_PRECONDITION",
                     "QUOTE_STATUS", "the quote is APPROVED; approve needs NEEDS_APPROVAL");
         }},
        {"POST /v1/quotes/{id}:send",
         [&] {
             const json j = Ok(Call("POST", "/v1/quotes/" + ids["quote"] + ":send", token, "{}"));
             CHECK(j["quote"]["status"] == "QUOTE_STATUS_SENT");
         }},
        {"POST /v1/quotes/{id}:accept",
         [&] {
             const json j = Ok(Call("POST", "/v1/quotes/" + ids["quote"] + ":accept", token,
                                    json({{"setOpportunityAmount", true}}).dump()));
             CHECK(j["opportunity"]["amount"]["amountMinor"] == "5802");
         }},
        {"POST /v1/quotes/{id}:reject",
         [&] {
             // The quote was accepted above: a rejection now is refused by the service.
             Refused(Call("POST", "/v1/quotes/" + ids["quote"] + ":reject", token, json({{"reason", "late"}}).dump()),
                     400, "FAILED_PRECONDITION", "QUOTE_STATUS",
                     "the quote is ACCEPTED; reject needs NEEDS_APPROVAL or SENT");
         }},
        {"GET /v1/salesSettings",
         [&] {
             const json j = Ok(Call("GET", "/v1/salesSettings", token));
             CHECK(j["settings"]["discountApprovalThresholdPercent"] == "20");
         }},
        {"PATCH /v1/salesSettings",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/salesSettings", token,
                                    json({{"discountApprovalThresholdPercent", "12.5"}}).dump()));
             CHECK(j["settings"]["discountApprovalThresholdPercent"] == "12.5");
         }},
        {"GET /v1/forecast",
         [&] {
             const json j =
                 Ok(Call("GET",
                         "/v1/forecast?period.type=PERIOD_TYPE_MONTH&period.start_date=" + day.first.substr(0, 10) +
                             "&currency_code=EUR",
                         token));
             CHECK(j["totals"]["closedWonAmount"] == "10000");
         }},
        {"POST /v1/forecastSnapshots",
         [&] {
             const json body = {{"period", {{"type", "PERIOD_TYPE_MONTH"}, {"startDate", day.first.substr(0, 10)}}},
                                {"currencyCode", "EUR"}};
             ids["snapshot"] = Ok(Call("POST", "/v1/forecastSnapshots", token, body.dump()))["snapshot"]["id"];
         }},
        {"GET /v1/forecastSnapshots",
         [&] {
             const json j = Ok(Call("GET",
                                    "/v1/forecastSnapshots?period.type=PERIOD_TYPE_MONTH&period.start_date=" +
                                        day.first.substr(0, 10) + "&currency_code=EUR",
                                    token));
             CHECK(j["snapshots"].size() >= 1);
         }},
        {"GET /v1/forecastSnapshots/{snapshot_id}:accuracy",
         [&] {
             const json j = Ok(Call("GET", "/v1/forecastSnapshots/" + ids["snapshot"] + ":accuracy", token));
             CHECK(j["total"]["actualWonAmount"] == "10000");
         }},
        // Field service.
        {"POST /v1/technicians",
         [&] {
             const json body = {{"userId", "tech." + Uuid().substr(0, 8)},
                                {"displayName", "Tess"},
                                {"homeBase", {{"latitude", 52.52}, {"longitude", 13.405}}},
                                {"timeZone", "Europe/Berlin"},
                                {"skills", {{{"skill", "hvac"}, {"level", 3}}}},
                                {"workingHours", {{{"weekday", 1}, {"startMinute", 480}, {"endMinute", 1020}}}}};
             const json j = Ok(Call("POST", "/v1/technicians?request_id=" + Uuid(), token, body.dump()));
             CHECK(j["technician"]["skills"][0]["level"] == 3);
             ids["technician"] = j["technician"]["id"];
         }},
        {"GET /v1/technicians/{id}",
         [&] {
             CHECK(Ok(Call("GET", "/v1/technicians/" + ids["technician"], token))["technician"]["displayName"] ==
                   "Tess");
         }},
        {"GET /v1/technicians",
         [&] { CHECK(Ok(Call("GET", "/v1/technicians?page_size=5", token))["technicians"].size() == 1); }},
        {"PATCH /v1/technicians/{technician.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/technicians/" + ids["technician"] + "?update_mask=territory", token,
                                    R"({"territory":"city"})"));
             CHECK(j["technician"]["territory"] == "city");
         }},
        {"POST /v1/technicians/{technician_id}:reportLocation",
         [&] {
             const json j = Ok(Call("POST", "/v1/technicians/" + ids["technician"] + ":reportLocation", token,
                                    R"({"location":{"latitude":52.53,"longitude":13.41},"accuracyMeters":12.5})"));
             CHECK(j["lastLocation"]["location"]["latitude"] == 52.53);
             CHECK(j["lastLocation"]["accuracyMeters"] == 12.5);
             Refused(Call("POST", "/v1/technicians/" + ids["technician"] + ":reportLocation", token,
                          R"({"location":{"latitude":52.53,"longitude":13.41}})"),
                     429, "RESOURCE_EXHAUSTED", "LOCATION_RATE_LIMITED",
                     "at most one location report every 5 seconds per technician; send the next one later");
         }},
        {"POST /v1/technicians/{technician_id}:sync",
         [&] {
             const json j = Ok(Call("POST", "/v1/technicians/" + ids["technician"] + ":sync", token,
                                    R"({"readMask":"status,site"})"));
             CHECK(j["full"] == true);
             CHECK(j["firstDate"].get<std::string>().size() == 10);
             const json again = Ok(Call("POST", "/v1/technicians/" + ids["technician"] + ":sync", token,
                                        json({{"sinceToken", j["nextToken"]}}).dump()));
             CHECK(again.value("full", false) == false);
             CHECK(again.value("nextToken", "") != "");
         }},
        {"POST /v1/workOrders",
         [&] {
             const json body = {
                 {"title", "Fix the heat pump"},
                 {"site",
                  {{"address", "Alexanderplatz 1"}, {"location", {{"latitude", 52.5219}, {"longitude", 13.4132}}}}},
                 {"workType", "repair"},
                 {"durationMinutes", 60},
                 {"requiredSkills", {{{"skill", "hvac"}, {"minLevel", 2}}}},
                 {"timeWindows", {{{"startTime", "2027-03-29T06:00:00Z"}, {"endTime", "2027-03-29T15:00:00Z"}}}},
                 {"checklist", {"filter"}}};
             const json j = Ok(Call("POST", "/v1/workOrders?request_id=" + Uuid(), token, body.dump()));
             CHECK(j["workOrder"]["status"] == "WORK_ORDER_STATUS_NEW");
             ids["work_order"] = j["workOrder"]["id"];
         }},
        {"GET /v1/workOrders/{id}",
         [&] {
             CHECK(Ok(Call("GET", "/v1/workOrders/" + ids["work_order"], token))["workOrder"]["durationMinutes"] == 60);
         }},
        {"GET /v1/workOrders",
         [&] {
             CHECK(Ok(Call("GET", "/v1/workOrders?status=WORK_ORDER_STATUS_NEW", token))["workOrders"].size() == 1);
         }},
        {"PATCH /v1/workOrders/{work_order.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/workOrders/" + ids["work_order"] + "?update_mask=priority", token,
                                    R"({"priority":"PRIORITY_URGENT"})"));
             CHECK(j["workOrder"]["priority"] == "PRIORITY_URGENT");
         }},
        {"GET /v1/workOrders/{work_order_id}:candidates",
         [&] {
             const json j = Ok(Call("GET", "/v1/workOrders/" + ids["work_order"] + ":candidates", token));
             REQUIRE(j["candidates"].size() == 1);
             CHECK(j["candidates"][0]["technicianId"] == ids["technician"]);
             CHECK(j["candidates"][0]["startTime"] == "2027-03-29T06:01:00Z");  // 08:00 CEST + 1 min travel
         }},
        {"POST /v1/workOrders/{work_order_id}:dispatch",
         [&] {
             const json j = Ok(Call("POST", "/v1/workOrders/" + ids["work_order"] + ":dispatch", token, "{}"));
             CHECK(j["workOrder"]["status"] == "WORK_ORDER_STATUS_SCHEDULED");
             CHECK(j["workOrder"]["appointment"]["technicianId"] == ids["technician"]);
         }},
        {"POST /v1/workOrders/{work_order_id}:reschedule",
         [&] {
             const json j = Ok(Call("POST", "/v1/workOrders/" + ids["work_order"] + ":reschedule", token,
                                    R"({"startTime":"2027-03-29T09:00:00Z"})"));
             CHECK(j["workOrder"]["appointment"]["startTime"] == "2027-03-29T09:00:00Z");
         }},
        {"GET /v1/technicians/{technician_id}/appointments",
         [&] {
             const json j = Ok(Call("GET",
                                    "/v1/technicians/" + ids["technician"] +
                                        "/appointments?window.start_time=2027-03-29T00:00:00Z&"
                                        "window.end_time=2027-03-30T00:00:00Z",
                                    token));
             REQUIRE(j["appointments"].size() == 1);
             CHECK(j["appointments"][0]["workOrderId"] == ids["work_order"]);
         }},
        {"GET /v1/technicians/{technician_id}/plan",
         [&] {
             const json j = Ok(Call("GET", "/v1/technicians/" + ids["technician"] + "/plan?date=2027-03-29", token));
             REQUIRE(j["stops"].size() == 1);
             CHECK(j["stops"][0]["workOrderId"] == ids["work_order"]);
             // Booked at 11:00 local; the plan proposes 08:01 (the window is open from 08:00, 1 minute of travel).
             CHECK(j["stops"][0]["startTime"] == "2027-03-29T06:01:00Z");
             CHECK(j["bookedOrderKept"] == true);
         }},
        {"POST /v1/workOrders/{work_order_id}:unassign",
         [&] {
             const json j = Ok(Call("POST", "/v1/workOrders/" + ids["work_order"] + ":unassign", token, "{}"));
             CHECK(j["workOrder"]["status"] == "WORK_ORDER_STATUS_NEW");
         }},
        {"POST /v1/parts",
         [&] {
             const json j = Ok(Call("POST", "/v1/parts", token, R"({"sku":"HP-FILTER","name":"Heat pump filter"})"));
             ids["part"] = j["part"]["id"];
         }},
        {"GET /v1/parts/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/parts/" + ids["part"], token))["part"]["sku"] == "HP-FILTER"); }},
        {"GET /v1/parts", [&] { CHECK(Ok(Call("GET", "/v1/parts", token))["parts"].size() == 1); }},
        {"POST /v1/stockLocations",
         [&] {
             ids["warehouse"] = Ok(Call("POST", "/v1/stockLocations", token,
                                        R"({"name":"Main","kind":"LOCATION_KIND_WAREHOUSE"})"))["location"]["id"];
             ids["van"] = Ok(Call("POST", "/v1/stockLocations", token,
                                  R"({"name":"Van","kind":"LOCATION_KIND_VAN"})"))["location"]["id"];
         }},
        {"GET /v1/stockLocations",
         [&] { CHECK(Ok(Call("GET", "/v1/stockLocations", token))["locations"].size() == 2); }},
        {"POST /v1/stockLocations/{location_id}/stock:adjust",
         [&] {
             const json j = Ok(Call("POST", "/v1/stockLocations/" + ids["warehouse"] + "/stock:adjust", token,
                                    json({{"partId", ids["part"]}, {"quantityDelta", "5"}}).dump()));
             CHECK(j["level"]["onHand"] == "5");
         }},
        {"POST /v1/stockLocations/{from_location_id}/stock:transfer",
         [&] {
             const json j =
                 Ok(Call("POST", "/v1/stockLocations/" + ids["warehouse"] + "/stock:transfer", token,
                         json({{"toLocationId", ids["van"]}, {"partId", ids["part"]}, {"quantity", "2"}}).dump()));
             CHECK(j["toLevel"]["onHand"] == "2");
         }},
        {"POST /v1/workOrders/{work_order_id}:reservePart",
         [&] {
             const json j =
                 Ok(Call("POST", "/v1/workOrders/" + ids["work_order"] + ":reservePart", token,
                         json({{"partId", ids["part"]}, {"locationId", ids["warehouse"]}, {"quantity", "3"}}).dump()));
             CHECK(j["level"].value("available", "0") == "0");  // zero is omitted from proto JSON
             CHECK(j["level"]["reserved"] == "3");
             Refused(Call("POST", "/v1/workOrders/" + ids["work_order"] + ":reservePart", token,
                          json({{"partId", ids["part"]}, {"locationId", ids["warehouse"]}, {"quantity", "1"}}).dump()),
                     400, "FAILED_PRECONDITION", "INSUFFICIENT_STOCK", "not enough stock of the part at the location");
         }},
        {"GET /v1/stockLevels",
         [&] { CHECK(Ok(Call("GET", "/v1/stockLevels?part_id=" + ids["part"], token))["levels"].size() == 2); }},
        {"PUT /v1/visitCategories",
         [&] {
             const json body = {{"categories",
                                 {{{"category", "Heating"},
                                   {"workType", "repair"},
                                   {"durationMinutes", 90},
                                   {"requiredSkills", {{{"skill", "hvac"}, {"minLevel", 2}}}}}}}};
             const json j = Ok(Call("PUT", "/v1/visitCategories", token, body.dump()));
             CHECK(j["etag"] == "v1");
             CHECK(j["categories"][0]["workType"] == "repair");
             const HttpReply bad =
                 Call("PUT", "/v1/visitCategories", token, R"({"categories":[{"category":"Heating"}]})");
             CHECK(bad.status == 400);
             CHECK(bad.body.find("categories[0].work_type") != std::string::npos);
             CHECK(bad.body.find("categories[0].duration_minutes") != std::string::npos);
         }},
        {"GET /v1/visitCategories",
         [&] {
             const json j = Ok(Call("GET", "/v1/visitCategories", token));
             CHECK(j["version"] == "1");
             CHECK(j["categories"][0]["category"] == "Heating");
         }},
        {"POST /v1/workOrders/{id}:changeStatus",
         [&] {
             const json j = Ok(Call("POST", "/v1/workOrders/" + ids["work_order"] + ":changeStatus", token,
                                    R"({"status":"WORK_ORDER_STATUS_CANCELLED","reason":"not needed"})"));
             CHECK(j["workOrder"]["status"] == "WORK_ORDER_STATUS_CANCELLED");
         }},
        {"POST /v1/workOrders/{id}:complete",
         [&] {
             Refused(Call("POST", "/v1/workOrders/" + ids["work_order"] + ":complete", token, "{}"), 400,
                     "FAILED_PRECONDITION", "INVALID_TRANSITION",
                     "the work order is CANCELLED: only a work order ON_SITE can be completed");
         }},
        // Analytics reads field service's technician events: the technician above (Mondays 08:00-17:00 in Berlin,
        // moved to "city") has 9 working hours in the week after the 2027 DST change.
        {"GET /v1/analytics/field-kpis",
         [&] {
             json city;
             for (int i = 0; i < 120 && city.is_null(); ++i) {
                 const json j = Ok(Call("GET",
                                        "/v1/analytics/field-kpis?startTime=2027-03-29T00:00:00Z&endTime=2027-04-05T00:"
                                        "00:00Z&technicianId=" +
                                            ids["technician"],
                                        token));
                 for (const auto& g : j.value("territories", json::array())) {
                     if (g["id"] == "city") city = g["kpis"];
                 }
                 if (city.is_null()) std::this_thread::sleep_for(250ms);
             }
             REQUIRE_FALSE(city.is_null());
             CHECK(city["availableSeconds"] == "32400");
         }},
        // Support: the SLA policy first, so that the case below gets its clocks.
        {"PUT /v1/slaPolicy",
         [&] {
             json hours = json::array();
             for (const char* day :
                  {"DAY_OF_WEEK_MONDAY", "DAY_OF_WEEK_TUESDAY", "DAY_OF_WEEK_WEDNESDAY", "DAY_OF_WEEK_THURSDAY",
                   "DAY_OF_WEEK_FRIDAY", "DAY_OF_WEEK_SATURDAY", "DAY_OF_WEEK_SUNDAY"}) {
                 hours.push_back({{"day", day}, {"startTime", "00:00"}, {"endTime", "24:00"}});
             }
             const json body = {
                 {"calendar", {{"timeZone", "Europe/Berlin"}, {"workingHours", hours}, {"holidays", {"2026-12-25"}}}},
                 {"targets",
                  {{{"priority", "CASE_PRIORITY_HIGH"},
                    {"firstResponseSeconds", "3600"},
                    {"resolutionSeconds", "86400"}}}},
                 {"warningPercent", 75}};
             const json j = Ok(Call("PUT", "/v1/slaPolicy", token, body.dump()));
             CHECK(j["slaPolicy"]["etag"] == "v1");
             CHECK(j["slaPolicy"]["calendar"]["timeZone"] == "Europe/Berlin");
         }},
        {"GET /v1/slaPolicy",
         [&] {
             const json j = Ok(Call("GET", "/v1/slaPolicy", token));
             CHECK(j["slaPolicy"]["warningPercent"] == 75);
             CHECK(j["slaPolicy"]["targets"][0]["firstResponseSeconds"] == "3600");
         }},
        // Support: a case with its conversation (its contact is linked and checked with contacts).
        {"POST /v1/cases",
         [&] {
             ids["case_contact"] = grpc_client.MustCreate("Case", "Contact").id();
             const json body = {{"case",
                                 {{"subject", "Printer on fire"},
                                  {"contactId", ids["case_contact"]},
                                  {"priority", "CASE_PRIORITY_HIGH"},
                                  {"tags", {"Hardware"}}}},
                                {"requestId", "http-case-1"}};
             const json j = Ok(Call("POST", "/v1/cases", token, body.dump()));
             ids["case"] = j["case"]["id"];
             CHECK(j["case"]["status"] == "CASE_STATUS_NEW");
             CHECK(j["case"]["tags"][0] == "hardware");
             CHECK(Ok(Call("POST", "/v1/cases", token, body.dump()))["case"]["id"] == ids["case"]);  // retried
         }},
        {"GET /v1/cases/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/cases/" + ids["case"], token))["case"]["subject"] == "Printer on fire"); }},
        {"GET /v1/cases",
         [&] {
             const json j =
                 Ok(Call("GET", "/v1/cases?status=CASE_STATUS_NEW&contact_id=" + ids["case_contact"], token));
             REQUIRE(j["cases"].size() == 1);
             CHECK(j["cases"][0]["id"] == ids["case"]);
         }},
        {"PATCH /v1/cases/{case.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/cases/" + ids["case"] + "?update_mask=category", token,
                                    R"({"category":"hardware","etag":"v1"})"));
             CHECK(j["case"]["category"] == "hardware");
             CHECK(j["case"]["etag"] == "v2");
         }},
        {"POST /v1/cases/{id}:assign",
         [&] {
             const json j =
                 Ok(Call("POST", "/v1/cases/" + ids["case"] + ":assign", token, R"({"assigneeId":"agent-1"})"));
             CHECK(j["case"]["assigneeId"] == "agent-1");
         }},
        {"POST /v1/cases/{case_id}/messages",
         [&] {
             const json j = Ok(Call("POST", "/v1/cases/" + ids["case"] + "/messages", token,
                                    R"({"message":{"kind":"MESSAGE_KIND_PUBLIC_REPLY","body":"On it"}})"));
             CHECK(j["case"]["status"] == "CASE_STATUS_OPEN");
             CHECK(j["message"]["body"] == "On it");
         }},
        {"GET /v1/cases/{case_id}/messages",
         [&] {
             const json j = Ok(Call("GET", "/v1/cases/" + ids["case"] + "/messages?public_only=true", token));
             REQUIRE(j["messages"].size() == 1);
             CHECK(j["messages"][0]["kind"] == "MESSAGE_KIND_PUBLIC_REPLY");
         }},
        {"POST /v1/cases/{id}:changeStatus",
         [&] {
             const json j = Ok(Call("POST", "/v1/cases/" + ids["case"] + ":changeStatus", token,
                                    R"({"status":"CASE_STATUS_SOLVED","reason":"replaced the toner"})"));
             CHECK(j["case"]["status"] == "CASE_STATUS_SOLVED");
             // SOLVED goes back to OPEN or on to CLOSED only: the service refuses anything else.
             Refused(Call("POST", "/v1/cases/" + ids["case"] + ":changeStatus", token,
                          R"({"status":"CASE_STATUS_PENDING_CUSTOMER"})"),
                     400, "FAILED_PRECONDITION", "INVALID_TRANSITION", "a case cannot move from SOLVED");
         }},
        {"POST /v1/cases/{survivor_id}:merge",
         [&] {
             const std::string dup =
                 Ok(Call("POST", "/v1/cases", token, R"({"case":{"subject":"Printer on fire again"}})"))["case"]["id"];
             const json j =
                 Ok(Call("POST", "/v1/cases/" + ids["case"] + ":merge", token, json({{"loserIds", {dup}}}).dump()));
             CHECK(j["survivor"]["id"] == ids["case"]);
             CHECK(j["merged"][0]["status"] == "CASE_STATUS_MERGED");
             CHECK(j["merged"][0]["mergedIntoId"] == ids["case"]);
         }},
        {"POST /v1/articles",
         [&] {
             const json body = {
                 {"article",
                  {{"title", "Replace the toner"},
                   {"body", "When the printer stops, open the front cover & pull the toner <cartridge> out."},
                   {"category", "Printers"},
                   {"locale", "en-us"}}},
                 {"requestId", "http-article-1"}};
             const json j = Ok(Call("POST", "/v1/articles", token, body.dump()));
             CHECK(j["article"]["state"] == "ARTICLE_STATE_DRAFT");
             CHECK(j["article"]["category"] == "printers");
             CHECK(j["article"]["locale"] == "en-US");
             ids["article"] = j["article"]["id"];
             CHECK(Ok(Call("POST", "/v1/articles", token, body.dump()))["article"]["id"] == ids["article"]);
         }},
        {"PATCH /v1/articles/{article.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/articles/" + ids["article"] + "?update_mask=title", token,
                                    R"({"title":"Replace the toner cartridge"})"));
             CHECK(j["article"]["title"] == "Replace the toner cartridge");
         }},
        {"POST /v1/articles/{id}:changeState",
         [&] {
             Ok(Call("POST", "/v1/articles/" + ids["article"] + ":changeState", token,
                     R"({"state":"ARTICLE_STATE_IN_REVIEW"})"));
             const json j = Ok(Call("POST", "/v1/articles/" + ids["article"] + ":changeState", token,
                                    R"({"state":"ARTICLE_STATE_PUBLISHED"})"));
             CHECK(j["article"]["publishedVersion"] == "1");
             Refused(Call("POST", "/v1/articles/" + ids["article"] + ":changeState", token,
                          R"({"state":"ARTICLE_STATE_IN_REVIEW"})"),
                     400, "FAILED_PRECONDITION", "TRANSITION_NOT_ALLOWED", "an article cannot move from PUBLISHED");
         }},
        {"GET /v1/articles/{id}",
         [&] {
             CHECK(Ok(Call("GET", "/v1/articles/" + ids["article"], token))["article"]["state"] ==
                   "ARTICLE_STATE_PUBLISHED");
         }},
        {"GET /v1/articles",
         [&] {
             const json j = Ok(Call("GET", "/v1/articles?state=ARTICLE_STATE_PUBLISHED&category=printers", token));
             REQUIRE(j["articles"].size() == 1);
             CHECK(j["articles"][0]["id"] == ids["article"]);
         }},
        {"GET /v1/articles/{article_id}/versions",
         [&] {
             const json j = Ok(Call("GET", "/v1/articles/" + ids["article"] + "/versions", token));
             REQUIRE(j["versions"].size() == 1);
             CHECK(j["versions"][0]["live"] == true);
         }},
        {"GET /v1/articles:search",
         [&] {
             const json j = Ok(Call("GET", "/v1/articles:search?query=toner+cartridge&locale=en", token));
             REQUIRE(j["hits"].size() == 1);
             CHECK(j["hits"][0]["articleId"] == ids["article"]);
             CHECK(j["hits"][0]["snippet"].get<std::string>().find("<mark>toner</mark>") != std::string::npos);
             const std::string snippet = j["hits"][0]["snippet"];
             INFO(snippet);
             CHECK(snippet.find("&amp; pull the <mark>toner</mark> &lt;") != std::string::npos);  // markup escaped
             CHECK(snippet.find("<cartridge") == std::string::npos);
         }},
        {"GET /v1/cases/{case_id}/suggestedArticles",
         [&] {
             // The case "Printer on fire" shares the word "printer" with the article.
             const json j = Ok(Call("GET", "/v1/cases/" + ids["case"] + "/suggestedArticles?page_size=3", token));
             REQUIRE(j["hits"].size() == 1);
             CHECK(j["hits"][0]["articleId"] == ids["article"]);
         }},
        {"POST /v1/articles/{article_id}:rate",
         [&] {
             const json j = Ok(Call("POST", "/v1/articles/" + ids["article"] + ":rate", token, R"({"helpful":true})"));
             CHECK(j["article"]["helpfulCount"] == "1");
         }},
        {"POST /v1/cases/{case_id}/articles",
         [&] {
             const json j = Ok(Call("POST", "/v1/cases/" + ids["case"] + "/articles", token,
                                    json({{"articleId", ids["article"]}}).dump()));
             CHECK(j["created"] == true);
             CHECK(j["link"]["versionNumber"] == "1");
         }},
        {"GET /v1/cases/{case_id}/articles",
         [&] {
             const json j = Ok(Call("GET", "/v1/cases/" + ids["case"] + "/articles", token));
             REQUIRE(j["links"].size() == 1);
             CHECK(j["links"][0]["title"] == "Replace the toner cartridge");
         }},
        {"GET /v1/customer360/{contact_id}",
         [&] {
             const json j = Ok(Call("GET", "/v1/customer360/" + ids["case_contact"], token));
             CHECK(j["contactId"] == ids["case_contact"]);
             CHECK(j["contactSection"]["status"] == "SECTION_STATUS_OK");
             CHECK(j["casesSection"]["status"] == "SECTION_STATUS_OK");
         }},
        {"POST /v1/cases:ingestEmail",
         [&] {
             const std::string raw = "From: Mail Customer <mail." + Uuid().substr(0, 8) +
                                     "@example.com>\r\nSubject: By mail\r\nMessage-ID: <" + Uuid() +
                                     "@example.com>\r\n\r\nHello from my mail client\r\n";
             const json j = Ok(Call("POST", "/v1/cases:ingestEmail", token,
                                    json({{"rawMessage", crm::common::Base64UrlEncode(raw)}}).dump()));
             CHECK(j["createdCase"] == true);
             CHECK(j["case"]["channel"] == "CHANNEL_EMAIL");
             CHECK(j["message"]["body"] == "Hello from my mail client\n");
         }},
        {"GET /v1/cases/{case_id}/slaStatus",
         [&] {
             const json j = Ok(Call("GET", "/v1/cases/" + ids["case"] + "/slaStatus", token));
             REQUIRE(j["clocks"].size() == 2);
             for (const auto& clock : j["clocks"]) CHECK(clock["state"] == "SLA_CLOCK_STATE_MET");
             CHECK(j["timeZone"] == "Europe/Berlin");
         }},
        // Analytics reads support's events: the case above (assigned to agent-1, answered and solved within its SLA
        // clocks) counts for agent-1; the e-mailed case is still new (backlog).
        {"GET /v1/analytics/support-kpis",
         [&] {
             json agent;
             json j;
             for (int i = 0; i < 120 && agent.is_null(); ++i) {
                 j = Ok(Call("GET", "/v1/analytics/support-kpis?startTime=" + day.first + "&end_time=" + day.second,
                             token));
                 // Events of different cases arrive in any order: wait for both the solved case and the new one.
                 const bool backlog = std::stol(j.value("total", json::object()).value("backlog", "0")) >= 1;
                 for (const auto& g : j.value("agents", json::array())) {
                     if (backlog && g["id"] == "agent-1" && g["kpis"]["resolution"].value("count", "0") == "1") {
                         agent = g["kpis"];
                     }
                 }
                 if (agent.is_null()) std::this_thread::sleep_for(250ms);
             }
             REQUIRE_FALSE(agent.is_null());
             CHECK(agent["firstResponse"]["count"] == "1");
             CHECK(agent["firstResponseSla"]["numerator"] == "1");
             CHECK(agent["firstResponseSla"]["denominator"] == "1");
             CHECK(agent["resolutionSla"]["numerator"] == "1");
             CHECK(std::stol(j["total"].value("backlog", "0")) >= 1);
             CHECK(j["startTime"] == day.first);
         }},
        // Support routing: a queue, presence, rules, and a case routed by them and again.
        {"POST /v1/queues",
         [&] {
             const json body = {
                 {"queue",
                  {{"name", "HTTP queue"},
                   {"strategy", "ASSIGNMENT_STRATEGY_LEAST_LOADED"},
                   {"members", {{{"agentId", "http-agent"}, {"skills", {"Printers"}}, {"capacity", 2}}}}}},
                 {"requestId", "http-queue-1"}};
             const json j = Ok(Call("POST", "/v1/queues", token, body.dump()));
             ids["queue"] = j["queue"]["id"];
             CHECK(j["queue"]["members"][0]["skills"][0] == "printers");
             CHECK(j["queue"]["active"] == true);
         }},
        {"GET /v1/queues/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/queues/" + ids["queue"], token))["queue"]["name"] == "HTTP queue"); }},
        {"GET /v1/queues", [&] { CHECK(Ok(Call("GET", "/v1/queues?page_size=5", token))["queues"].size() == 1); }},
        {"PATCH /v1/queues/{queue.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/queues/" + ids["queue"] + "?update_mask=description", token,
                                    R"({"description":"printers and toner","etag":"v1"})"));
             CHECK(j["queue"]["etag"] == "v2");
         }},
        {"POST /v1/agents/{agent_id}:setPresence",
         [&] {
             const json j =
                 Ok(Call("POST", "/v1/agents/http-agent:setPresence", token, R"({"presence":"PRESENCE_AVAILABLE"})"));
             CHECK(j["agentPresence"]["presence"] == "PRESENCE_AVAILABLE");
         }},
        {"GET /v1/agents/{agent_id}/presence",
         [&] {
             const json j = Ok(Call("GET", "/v1/agents/http-agent/presence", token));
             CHECK(j["agentPresence"]["presence"] == "PRESENCE_AVAILABLE");
         }},
        {"PUT /v1/routingRules",
         [&] {
             const json body = {{"rules",
                                 {{{"name", "printers"},
                                   {"categories", {"printer"}},
                                   {"queueId", ids["queue"]},
                                   {"requiredSkills", {"printers"}}}}}};
             const json j = Ok(Call("PUT", "/v1/routingRules", token, body.dump()));
             CHECK(j["routingRules"]["etag"] == "v1");
         }},
        {"GET /v1/routingRules",
         [&] { CHECK(Ok(Call("GET", "/v1/routingRules", token))["routingRules"]["rules"][0]["name"] == "printers"); }},
        {"POST /v1/cases/{case_id}:route",
         [&] {
             const json made =
                 Ok(Call("POST", "/v1/cases", token, R"({"case":{"subject":"Jam","category":"Printer"}})"));
             ids["routed_case"] = made["case"]["id"];
             CHECK(made["case"]["queueId"] == ids["queue"]);
             CHECK(made["case"]["assigneeId"] == "http-agent");
             const json j = Ok(Call("POST", "/v1/cases/" + ids["routed_case"] + ":route", token,
                                    json({{"queueId", ids["queue"]}, {"note", "again"}}).dump()));
             CHECK(j["routing"]["reason"] == "REROUTE");
             CHECK(j["case"]["assigneeId"] == "http-agent");
         }},
        {"GET /v1/cases/{case_id}/routings",
         [&] {
             const json j = Ok(Call("GET", "/v1/cases/" + ids["routed_case"] + "/routings", token));
             REQUIRE(j["routings"].size() == 2);
             CHECK(j["routings"][0]["reason"] == "NEW_CASE");
             CHECK(j["routings"][1]["note"] == "again");
         }},
        {"PUT /v1/sentimentRule",
         [&] {
             const json j = Ok(Call("PUT", "/v1/sentimentRule", token, R"({"enabled":true,"threshold":-0.7})"));
             CHECK(j["sentimentRule"]["etag"] == "v1");
             CHECK(j["sentimentRule"]["threshold"] == -0.7);
         }},
        {"GET /v1/sentimentRule",
         [&] { CHECK(Ok(Call("GET", "/v1/sentimentRule", token))["sentimentRule"]["enabled"] == true); }},
        {"GET /v1/cases/{case_id}/sentiment",
         [&] {
             Ok(Call(
                 "POST", "/v1/cases/" + ids["routed_case"] + "/messages", token,
                 R"({"message":{"kind":"MESSAGE_KIND_CUSTOMER_MESSAGE","body":"Thank you, it works perfectly!"}})"));
             const json j = Ok(Call("GET", "/v1/cases/" + ids["routed_case"] + "/sentiment", token));
             REQUIRE(j["points"].size() == 1);
             CHECK(j["points"][0]["sentiment"]["label"] == "SENTIMENT_LABEL_POSITIVE");
             CHECK(j["latestScore"].get<double>() > 0.5);
         }},
        // Marketing: a campaign with a cost line and a tracked link.
        {"POST /v1/campaigns",
         [&] {
             const json body = {{"name", "HTTP launch"},
                                {"type", "CAMPAIGN_TYPE_EMAIL"},
                                {"budget", {{"amountMinor", "10000"}, {"currencyCode", "EUR"}}}};
             const json j = Ok(Call("POST", "/v1/campaigns?request_id=" + Uuid(), token, body.dump()));
             ids["campaign"] = j["campaign"]["id"];
             CHECK(j["campaign"]["status"] == "CAMPAIGN_STATUS_PLANNED");
             CHECK(j["campaign"]["utmCampaign"] == "http-launch");
         }},
        {"GET /v1/campaigns/{id}",
         [&] {
             CHECK(Ok(Call("GET", "/v1/campaigns/" + ids["campaign"], token))["campaign"]["name"] == "HTTP launch");
         }},
        {"GET /v1/campaigns",
         [&] {
             const json j = Ok(Call("GET", "/v1/campaigns?status=CAMPAIGN_STATUS_PLANNED", token));
             REQUIRE(j["campaigns"].size() == 1);
             CHECK(j["campaigns"][0]["id"] == ids["campaign"]);
         }},
        {"PATCH /v1/campaigns/{campaign.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/campaigns/" + ids["campaign"] + "?update_mask=status", token,
                                    json({{"status", "CAMPAIGN_STATUS_ACTIVE"}}).dump()));
             CHECK(j["campaign"]["status"] == "CAMPAIGN_STATUS_ACTIVE");
         }},
        {"POST /v1/campaigns/{campaign_id}/costs",
         [&] {
             const json body = {{"description", "Ads"},
                                {"amount", {{"amountMinor", "2500"}, {"currencyCode", "EUR"}}},
                                {"incurDate", "2026-03-01"}};
             const json j = Ok(Call("POST", "/v1/campaigns/" + ids["campaign"] + "/costs", token, body.dump()));
             CHECK(j["campaign"]["actualCost"]["amountMinor"] == "2500");
         }},
        {"GET /v1/campaigns/{campaign_id}/costs",
         [&] { CHECK(Ok(Call("GET", "/v1/campaigns/" + ids["campaign"] + "/costs", token))["costs"].size() == 1); }},
        {"POST /v1/campaigns/{campaign_id}/links",
         [&] {
             const json body = {
                 {"destinationUrl", "https://example.com/offer"}, {"channel", "email"}, {"source", "newsletter"}};
             const json j = Ok(Call("POST", "/v1/campaigns/" + ids["campaign"] + "/links", token, body.dump()));
             CHECK(j["link"]["targetUrl"] ==
                   "https://example.com/offer?utm_source=newsletter&utm_medium=email&utm_campaign=http-launch");
             ids["link_token"] = j["link"]["token"];
         }},
        {"GET /v1/campaigns/{campaign_id}/links",
         [&] { CHECK(Ok(Call("GET", "/v1/campaigns/" + ids["campaign"] + "/links", token))["links"].size() == 1); }},
        // Marketing's audience is built from the contacts events: a contact created now shows up.
        {"GET /v1/audience/{id}",
         [&] {
             cv1::CreateContactRequest req;
             ids["mkt_email"] = "mkt." + Uuid().substr(0, 8) + "@example.com";
             req.mutable_contact()->set_email(ids["mkt_email"]);
             auto created = grpc_client.CreateContact(req);
             REQUIRE(created.ok());
             ids["person"] = created.response.contact().id();
             HttpReply r;
             for (int i = 0; i < 120; ++i) {
                 r = Call("GET", "/v1/audience/" + ids["person"], token);
                 if (r.status == 200) break;
                 std::this_thread::sleep_for(250ms);
             }
             const json j = Ok(r);
             CHECK(j["member"]["kind"] == "contact");
             CHECK(j["member"]["email"] == ids["mkt_email"]);
         }},
        // Nothing was sent to or done by that person yet: an empty history (a bad page size is a 400).
        {"GET /v1/audience/{person_id}/engagement",
         [&] {
             const json j = Ok(Call("GET", "/v1/audience/" + ids["person"] + "/engagement?pageSize=5", token));
             CHECK(j.value("engagements", json::array()).empty());
             CHECK(Call("GET", "/v1/audience/" + ids["person"] + "/engagement?pageSize=-1", token).status == 400);
         }},
        {"POST /v1/segments",
         [&] {
             const json body = {
                 {"name", "Everyone with an email"},
                 {"type", "SEGMENT_TYPE_DYNAMIC"},
                 {"rule",
                  {{"field",
                    {{"field", "email"}, {"op", "CONDITION_OPERATOR_EQUALS"}, {"values", {ids["mkt_email"]}}}}}}};
             const json j = Ok(Call("POST", "/v1/segments?request_id=" + Uuid(), token, body.dump()));
             ids["segment"] = j["segment"]["id"];
             CHECK(j["segment"]["memberCount"] == "1");
             const json list = {{"name", "VIP list"}, {"type", "SEGMENT_TYPE_STATIC"}};
             ids["list"] = Ok(Call("POST", "/v1/segments", token, list.dump()))["segment"]["id"];
         }},
        {"GET /v1/segments/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/segments/" + ids["segment"], token))["segment"]["memberCount"] == "1"); }},
        {"GET /v1/segments", [&] { CHECK(Ok(Call("GET", "/v1/segments", token))["segments"].size() == 2); }},
        {"PATCH /v1/segments/{segment.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/segments/" + ids["segment"] + "?update_mask=name", token,
                                    json({{"name", "Reachable"}}).dump()));
             CHECK(j["segment"]["name"] == "Reachable");
         }},
        {"POST /v1/segments/{segment_id}:addMembers",
         [&] {
             const json j = Ok(Call("POST", "/v1/segments/" + ids["list"] + ":addMembers", token,
                                    json({{"csv", ids["mkt_email"] + "\nnobody@example.com"}}).dump()));
             CHECK(j["added"] == "1");
             CHECK(j["unmatched"] == json::array({"nobody@example.com"}));
         }},
        {"GET /v1/segments/{segment_id}/members",
         [&] {
             const json j = Ok(Call("GET", "/v1/segments/" + ids["list"] + "/members", token));
             REQUIRE(j["members"].size() == 1);
             CHECK(j["members"][0]["id"] == ids["person"]);
         }},
        {"POST /v1/segments/{segment_id}:removeMembers",
         [&] {
             const json j = Ok(Call("POST", "/v1/segments/" + ids["list"] + ":removeMembers", token,
                                    json({{"personIds", {ids["person"]}}}).dump()));
             CHECK(j["removed"] == "1");
         }},
        {"POST /v1/segments:preview",
         [&] {
             const json body = {{"rule",
                                 {{"field",
                                   {{"field", "email"},
                                    {"op", "CONDITION_OPERATOR_IN"},
                                    {"values", {ids["mkt_email"], "nobody@example.com"}}}}}}};
             const json j = Ok(Call("POST", "/v1/segments:preview", token, body.dump()));
             CHECK(j["count"] == "1");
         }},
        {"GET /v1/campaigns/{campaign_id}:performance",
         [&] {
             const json j = Ok(Call("GET", "/v1/campaigns/" + ids["campaign"] + ":performance", token));
             CHECK(j["campaignId"] == ids["campaign"]);
             REQUIRE(j["cost"].size() == 1);
             CHECK(j["cost"][0]["amountMinor"] == "2500");
         }},
        // Analytics reads marketing's cost lines (CampaignCostAdded): the line of 2026-03-01 above.
        {"GET /v1/analytics/campaign-kpis",
         [&] {
             json eur;
             for (int i = 0; i < 120 && eur.is_null(); ++i) {
                 const json j =
                     Ok(Call("GET",
                             "/v1/analytics/campaign-kpis?startTime=2026-03-01T00:00:00Z&endTime=2026-04-01T00:"
                             "00:00Z&campaignId=" +
                                 ids["campaign"],
                             token));
                 for (const auto& c : j.value("campaigns", json::array())) {
                     for (const auto& cur : c.value("currencies", json::array())) {
                         if (cur["currencyCode"] == "EUR") eur = cur;
                     }
                 }
                 if (eur.is_null()) std::this_thread::sleep_for(250ms);
             }
             REQUIRE_FALSE(eur.is_null());
             CHECK(eur["costMinor"] == "2500");
         }},
        {"GET /v1/emailSettings",
         [&] { CHECK(Ok(Call("GET", "/v1/emailSettings", token))["settings"]["etag"] == "v0"); }},
        {"PATCH /v1/emailSettings",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/emailSettings?update_mask=from_email,from_name", token,
                                    json({{"fromEmail", "news@http.example"}, {"fromName", "HTTP"}}).dump()));
             CHECK(j["settings"]["fromEmail"] == "news@http.example");
         }},
        {"POST /v1/emailTemplates",
         [&] {
             const json body = {{"name", "T"}, {"subject", "Hi {{contact.given_name}}"}, {"textBody", "Hello"}};
             ids["template"] = Ok(Call("POST", "/v1/emailTemplates", token, body.dump()))["template"]["id"];
         }},
        {"GET /v1/emailTemplates/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/emailTemplates/" + ids["template"], token))["template"]["name"] == "T"); }},
        {"POST /v1/emailSends",
         [&] {
             const json body = {
                 {"campaignId", ids["campaign"]}, {"templateId", ids["template"]}, {"segmentId", ids["list"]}};
             const json j = Ok(Call("POST", "/v1/emailSends", token, body.dump()));
             ids["send"] = j["send"]["id"];
             CHECK(j["send"]["status"] == "EMAIL_SEND_STATUS_SCHEDULED");
         }},
        {"GET /v1/emailSends/{id}",
         [&] { CHECK(Ok(Call("GET", "/v1/emailSends/" + ids["send"], token))["send"]["id"] == ids["send"]); }},
        // Marketing sequences: an A/B split into a message of the campaign, started by entering the list.
        {"POST /v1/sequences",
         [&] {
             const json body = {
                 {"name", "HTTP journey"},
                 {"trigger", {{"type", "SEQUENCE_TRIGGER_TYPE_SEGMENT_ENTERED"}, {"value", ids["list"]}}},
                 {"steps",
                  {{{"id", "ab"},
                    {"split", {{"variants", {{{"name", "a"}, {"weight", 1}}, {{"name", "b"}, {"weight", 1}}}}}}},
                   {{"id", "mail"}, {"sendEmail", {{"campaignId", ids["campaign"]}, {"templateId", ids["template"]}}}},
                   {{"id", "pause"}, {"wait", {{"seconds", "3600"}}}}}}};
             const json j = Ok(Call("POST", "/v1/sequences?request_id=" + Uuid(), token, body.dump()));
             ids["sequence"] = j["sequence"]["id"];
             CHECK(j["sequence"]["status"] == "SEQUENCE_STATUS_ACTIVE");
             CHECK(j["sequence"]["version"] == "1");
             CHECK(j["sequence"]["steps"].size() == 3);
         }},
        {"GET /v1/sequences/{id}",
         [&] {
             CHECK(Ok(Call("GET", "/v1/sequences/" + ids["sequence"], token))["sequence"]["name"] == "HTTP journey");
         }},
        {"GET /v1/sequences", [&] { CHECK(Ok(Call("GET", "/v1/sequences", token))["sequences"].size() == 1); }},
        {"PATCH /v1/sequences/{sequence.id}",
         [&] {
             const json j = Ok(Call("PATCH", "/v1/sequences/" + ids["sequence"] + "?update_mask=status", token,
                                    json({{"status", "SEQUENCE_STATUS_PAUSED"}}).dump()));
             CHECK(j["sequence"]["status"] == "SEQUENCE_STATUS_PAUSED");
             CHECK(j["sequence"]["version"] == "2");
         }},
        {"GET /v1/sequences/{sequence_id}/enrolments",
         [&] {
             const json j = Ok(Call("GET", "/v1/sequences/" + ids["sequence"] + "/enrolments", token));
             CHECK(j.value("enrolments", json::array()).empty());  // nobody entered the list since
         }},
        {"GET /v1/sequences/{sequence_id}/splits/{step_id}:report",
         [&] {
             const json j = Ok(Call("GET", "/v1/sequences/" + ids["sequence"] + "/splits/ab:report", token));
             REQUIRE(j["variants"].size() == 2);
             CHECK(j["variants"][0]["name"] == "a");
             CHECK(j["pValue"] == 1.0);
         }},
        // Public link routes: no credential but the signed token in the path.
        {"GET /r/{token}",
         [&] {
             const HttpReply r = Call("GET", "/r/" + ids["link_token"], "");
             INFO(r.body);
             REQUIRE(r.status == 302);
             CHECK(r.Header("location") ==
                   "https://example.com/offer?utm_source=newsletter&utm_medium=email&utm_campaign=http-launch");
         }},
        {"POST /u/{token}",
         [&] {
             // A well-signed token of this tenant that names no message: the service's own answer.
             const std::string unsubscribe = crm::common::SignPublicToken(
                 "unsubscribe", {.tenant = tenant, .fields = {Uuid(), Uuid()}}, RequireEnv("CRM_INTERNAL_KEY"));
             HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
             Refused(client.Send("POST", "/u/" + unsubscribe, {{"content-type", "application/x-www-form-urlencoded"}},
                                 "List-Unsubscribe=One-Click"),
                     404, "NOT_FOUND", "NOT_FOUND", "link (token) not found");
         }},
        {"GET /o/{token}",
         [&] {
             // The open pixel (a raw image/gif when the token names a message; marketing_opens_test.cpp): a
             // well-signed token of this tenant that names no message is the service's own answer, as JSON.
             const std::string pixel = crm::common::SignPublicToken(
                 "email-open", {.tenant = tenant, .fields = {Uuid(), Uuid()}}, RequireEnv("CRM_INTERNAL_KEY"));
             HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
             Refused(client.Send("GET", "/o/" + pixel, {}, ""), 404, "NOT_FOUND", "NOT_FOUND",
                     "link (token) not found");
         }},
        {"POST /csat/{token}",
         [&] {
             // A survey's answer by its link (support_csat_test.cpp answers real surveys from their e-mails): a
             // well-signed token of this tenant that names no survey is the service's own answer.
             const std::string survey = crm::common::SignPublicToken("csat", {.tenant = tenant, .fields = {Uuid()}},
                                                                     RequireEnv("CRM_INTERNAL_KEY"));
             HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
             Refused(client.Send("POST", "/csat/" + survey, {{"content-type", "application/json"}}, R"({"score":5})"),
                     404, "NOT_FOUND", "NOT_FOUND", "survey (token) not found");
         }},
        {"GET /csat/{token}",
         [&] {
             // The survey's page (text/html when the token names a survey; support_csat_test.cpp).
             const std::string survey = crm::common::SignPublicToken("csat", {.tenant = tenant, .fields = {Uuid()}},
                                                                     RequireEnv("CRM_INTERNAL_KEY"));
             HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
             Refused(client.Send("GET", "/csat/" + survey + "?score=4", {}, ""), 404, "NOT_FOUND", "NOT_FOUND",
                     "survey (token) not found");
         }},
        {"GET /v1/csat:report",
         [&] {
             const json j = Ok(Call(
                 "GET", "/v1/csat:report?startTime=" + day.first + "&endTime=" + day.second + "&period=CSAT_PERIOD_DAY",
                 token));
             CHECK(j["overall"].is_object());
         }},
        {"DELETE /v1/opportunities/{id}",
         [&] {
             const json j = Ok(Call("DELETE", "/v1/opportunities/" + ids["deal_lost"], token));
             CHECK(j["opportunity"].contains("deleteTime"));
         }},
        {"DELETE /v1/companies/{id}",
         [&] {
             CHECK(Ok(Call("DELETE", "/v1/companies/" + ids["company"], token))["company"].contains("deleteTime"));
         }},
        {"DELETE /v1/customFieldDefinitions/{id}",
         [&] { Ok(Call("DELETE", "/v1/customFieldDefinitions/" + ids["definition"], token)); }},
    };

    const std::set<std::string> published = PublishedRoutes();
    std::set<std::string> tested;
    for (const auto& [route, run] : scenarios) {
        INFO("route " << route);
        CHECK(published.contains(route));  // the scenario's route is really served
        tested.insert(route);
        run();
    }
    // Every route of every service the gateway serves has a scenario here: a new service's routes fail this.
    for (const auto& route : published) {
        INFO("route without an HTTP round-trip test: " << route);
        CHECK(tested.contains(route));
    }
}

TEST_CASE("gateway http: bad input is 400 with field violations and writes nothing", "[integration][gateway][http]") {
    const std::string tenant = UniqueTenant("http");
    const std::string token = TokenFor(tenant);
    struct Case {
        std::string method, target, body, field;
    };
    const std::vector<Case> cases = {
        {"POST", "/v1/contacts", R"({"givenName": "A")", "body"},                    // malformed JSON
        {"POST", "/v1/contacts", R"({"givenName": 42})", "body"},                    // wrong type
        {"POST", "/v1/contacts", R"({"givenName": "A", "nickname": "x"})", "body"},  // unknown field
        {"POST", "/v1/contacts", R"([1, 2])", "body"},                               // not an object
        {"POST", "/v1/contacts?allow_duplicate=maybe", R"({"givenName":"A"})", "allow_duplicate"},
        {"POST", "/v1/contacts?color=red", R"({"givenName":"A"})", "color"},  // unknown parameter
        {"GET", "/v1/contacts?page_size=ten", "", "page_size"},
        {"GET", "/v1/contacts?page_size=-1", "", "page_size"},  // the service's check
        {"GET", "/v1/contacts/not-a-uuid", "", "id"},           // bad path parameter
        {"PATCH", "/v1/contacts/" + Uuid() + "?update_mask=nickname", R"({"givenName":"B"})", "update_mask"},
        {"POST", "/v1/contacts", R"({"email":"not an email"})", "contact.email"},  // the service's validation
    };
    for (const auto& c : cases) {
        INFO(c.method << " " << c.target << " " << c.body);
        const auto r = Call(c.method, c.target, token, c.body);
        CHECK(r.status == 400);
        const ErrorBody e = Error(r);
        CHECK(e.status == "INVALID_ARGUMENT");
        CHECK(e.fields.contains(c.field));
    }
    // A body that is not JSON by its content type: 415.
    HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    const auto form = client.Send(
        "POST", "/v1/contacts", {{"authorization", "Bearer " + token}, {"content-type", "text/plain"}}, "givenName=A");
    CHECK(form.status == 415);
    // An oversized body (over CRM_HTTP_MAX_BODY_BYTES, 4 MiB by default): 413 before it is read.
    const std::string huge = R"({"givenName":")" + std::string(5 * 1024 * 1024, 'a') + R"("})";
    const auto big = Call("POST", "/v1/contacts", token, huge);
    CHECK(big.status == 413);
    // An oversized URL: 414.
    CHECK(Call("GET", "/v1/contacts?tag=" + std::string(9000, 'x'), token).status == 414);
    CHECK(RowsOf(tenant) == 0);
}

TEST_CASE("gateway http: statuses for missing, duplicate, unauthenticated, forbidden and unknown",
          "[integration][gateway][http]") {
    const std::string tenant = UniqueTenant("http");
    const std::string token = TokenFor(tenant);
    const std::string email = "dup." + Uuid().substr(0, 8) + "@example.com";
    const std::string body = R"({"givenName":"D","email":")" + email + R"("})";
    const std::string id = Ok(Call("POST", "/v1/contacts", token, body))["contact"]["id"];

    // Duplicate email: 409 ALREADY_EXISTS.
    const auto dup = Call("POST", "/v1/contacts", token, body);
    CHECK(dup.status == 409);
    CHECK(Error(dup).status == "ALREADY_EXISTS");
    // Another tenant's id: 404, exactly like an id that never existed.
    const auto other = Call("GET", "/v1/contacts/" + id, TokenFor(UniqueTenant("http")));
    CHECK(other.status == 404);
    CHECK(Error(other).status == "NOT_FOUND");
    CHECK(Call("GET", "/v1/contacts/" + Uuid(), token).status == 404);

    // Credentials: none, garbage, expired → 401; a role without the right → 403 and nothing written.
    const auto none = Call("GET", "/v1/contacts/" + id, "");
    CHECK(none.status == 401);
    CHECK(Error(none).status == "UNAUTHENTICATED");
    CHECK(Call("GET", "/v1/contacts/" + id, "not.a.jwt").status == 401);
    TokenSpec expired;
    expired.tenant = tenant;
    expired.ttl = -3600s;
    CHECK(Call("GET", "/v1/contacts/" + id, MintToken(expired)).status == 401);
    const long before = RowsOf(tenant);
    const auto denied = Call("POST", "/v1/contacts", TokenFor(tenant, {"read_only"}), R"({"givenName":"R"})");
    CHECK(denied.status == 403);
    CHECK(Error(denied).status == "PERMISSION_DENIED");
    CHECK(RowsOf(tenant) == before);
    CHECK(Call("GET", "/v1/contacts/" + id, TokenFor(tenant, {"read_only"})).status == 200);

    // No route: 404; a route of another method: 405 with Allow.
    CHECK(Call("GET", "/v1/nothing", token).status == 404);
    const auto put = Call("PUT", "/v1/contacts/" + id, token, "{}");
    CHECK(put.status == 405);
    CHECK(put.Header("allow") == "GET, PATCH, DELETE");

    // The request id: the client's when valid, else a new one.
    const auto traced = Call("GET", "/v1/contacts/" + id, token, "", {{"x-request-id", "req-http-12345"}});
    CHECK(traced.Header("x-request-id") == "req-http-12345");
    CHECK(Call("GET", "/v1/contacts/" + id, token).Header("x-request-id").size() == 36);
}

TEST_CASE("gateway http: rate limit is 429 with Retry-After and RetryInfo", "[integration][gateway][http]") {
    const std::string token = TokenFor(UniqueTenant("rl-"), {"read_only"});  // plan 0.2:5
    int ok = 0;
    int limited = 0;
    for (int i = 0; i < 8; ++i) {
        const auto r = Call("GET", "/v1/contacts", token);
        if (r.status == 200) {
            ++ok;
            continue;
        }
        REQUIRE(r.status == 429);
        ++limited;
        const ErrorBody e = Error(r);
        CHECK(e.status == "RESOURCE_EXHAUSTED");
        CHECK(e.reason == "RATE_LIMITED");
        const int retry_after = std::stoi(r.Header("retry-after"));
        CHECK(retry_after >= 1);
        CHECK(retry_after <= 5);
        bool retry_info = false;
        const json body = Json(r);
        for (const auto& d : body["error"]["details"]) {
            if (d["@type"] == "type.googleapis.com/google.rpc.RetryInfo") retry_info = true;
        }
        CHECK(retry_info);
    }
    CHECK(ok == 5);
    CHECK(limited == 3);
}

TEST_CASE("gateway http: OpenAPI, CORS, keep-alive and metrics", "[integration][gateway][http]") {
    const std::string token = TokenFor(UniqueTenant("http"));
    // OpenAPI without a credential; it names the routes, schemas and security schemes.
    const json doc = Ok(Call("GET", "/openapi.json", ""));
    CHECK(doc["openapi"] == "3.0.3");
    CHECK(doc["paths"]["/v1/contacts/{id}"].contains("get"));
    CHECK(doc["paths"]["/v1/contacts/{id}"]["get"]["parameters"][0]["name"] == "id");
    CHECK(doc["components"]["schemas"].contains("crm.contacts.v1.Contact"));
    CHECK(doc["components"]["securitySchemes"].contains("bearer"));

    // CORS: the stack allows http://localhost:3000 (CRM_HTTP_CORS_ORIGINS).
    const Headers preflight = {{"origin", "http://localhost:3000"},
                               {"access-control-request-method", "PATCH"},
                               {"access-control-request-headers", "authorization, content-type"}};
    const auto allowed = Call("OPTIONS", "/v1/contacts/x", "", "", preflight);
    CHECK(allowed.status == 204);
    CHECK(allowed.Header("access-control-allow-origin") == "http://localhost:3000");
    CHECK(allowed.Header("access-control-allow-methods") == "GET, PATCH, DELETE");
    CHECK(allowed.Header("access-control-allow-headers").find("authorization") != std::string::npos);
    const auto refused = Call("OPTIONS", "/v1/contacts/x", "", "",
                              {{"origin", "https://evil.example"}, {"access-control-request-method", "GET"}});
    CHECK(refused.status == 403);
    CHECK(refused.Header("access-control-allow-origin").empty());
    const auto simple = Call("GET", "/v1/contacts", token, "", {{"origin", "http://localhost:3000"}});
    CHECK(simple.status == 200);
    CHECK(simple.Header("access-control-allow-origin") == "http://localhost:3000");
    CHECK(simple.Header("access-control-expose-headers").find("x-request-id") != std::string::npos);

    // Keep-alive: several requests, errors included, on one connection.
    const std::string series = "crm_gateway_http_requests_total{method=\"GET\",route=\"/v1/contacts\",status=\"200\"}";
    const double before = GatewayMetric(series);
    HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    const Headers auth = {{"authorization", "Bearer " + token}};
    for (int i = 0; i < 5; ++i) CHECK(client.Send("GET", "/v1/contacts", auth).status == 200);
    CHECK(client.Send("GET", "/v1/contacts/not-a-uuid", auth).status == 400);
    CHECK(client.Send("GET", "/v1/contacts", auth).status == 200);
    CHECK(client.connections() == 1);
    CHECK(GatewayMetric(series) - before == 6);
    // The call is also counted like a gRPC call, by service, method and code.
    CHECK(GatewayMetric("crm_gateway_requests_total{code=\"OK\",method=\"ListContacts\",service=\"crm.contacts.v1."
                        "ContactsService\"}") > 0);
}

TEST_CASE("gateway http: Redis down, calls are served like gRPC calls (fail open)", "[integration][gateway][http]") {
    const std::string token = TokenFor(UniqueTenant("rl-"), {"read_only"});
    const double before = GatewayMetric("crm_gateway_ratelimit_fail_open_total");
    StackCommandAtExit restart("redis-start");
    StackCommand("redis-stop");
    for (int i = 0; i < 7; ++i) CHECK(Call("GET", "/v1/contacts", token).status == 200);  // over the burst of 5
    CHECK(GatewayMetric("crm_gateway_ratelimit_fail_open_total") - before == 7);
    StackCommand("redis-start");
}

TEST_CASE("gateway http: a backend that is down is 503 at once, and served again when it is back",
          "[integration][gateway][http]") {
    const std::string token = TokenFor(UniqueTenant("http"));
    REQUIRE(Call("GET", "/v1/contacts", token).status == 200);
    StackCommandAtExit restart("start-apps");
    StackCommand("kill-app contacts");
    const auto t0 = std::chrono::steady_clock::now();
    const auto down = Call("GET", "/v1/contacts", token);
    CHECK(down.status == 503);
    const ErrorBody e = Error(down);
    CHECK(e.status == "UNAVAILABLE");
    CHECK(e.message == "service unavailable, retry later");  // not the channel's text with internal addresses
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    StackCommand("start-apps");
    // The gateway reconnects (backoff 1-2 s): wait for it, bounded.
    int status = 0;
    for (int i = 0; i < 60 && status != 200; ++i) {
        status = Call("GET", "/v1/contacts", token).status;
        if (status != 200) std::this_thread::sleep_for(250ms);
    }
    CHECK(status == 200);
}
